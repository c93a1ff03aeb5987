#!/usr/bin/env bash
# setup.sh — idempotent set-up shared by ./quickstart and ./run-tests: installs the Debian
# packages headscope needs (by name, only those missing), then autoreconf, configure and make in build/.
# Quick when everything is already there. Extra configure options: HS_CONFIGURE_FLAGS.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential autoconf automake pkg-config
          libsqlite3-dev sqlite3 libcairo2-dev libpango1.0-dev libgsl-dev libxml2-dev
          libopenblas-dev libjansson-dev libpcre2-dev libunistring-dev nettle-dev
          chromium)  # chromium: the report's browser test (skipped without it)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The build lives in build/ (VPATH): objects, programs, config.h and the auxiliary scripts; only
# the autotools bootstrap (configure, Makefile.in, aclocal.m4) lies beside configure.ac and
# Makefile.am, where autotools needs it.
if [ -f config.status ]; then
    echo "setup: this checkout was configured in the source tree (config.status), before headscope" >&2
    echo "setup: built in build/; remove the old build products first: git clean -fdX" >&2
    echo "setup: (it deletes only files .gitignore names: build products, demo-out/)" >&2
    exit 1
fi
if [ ! -x configure ] || [ ! -f build/aux/install-sh ] || [ configure.ac -nt configure ] \
   || [ Makefile.am -nt configure ] || [ -n "$(find m4 -name 'hs_*.m4' -newer configure 2>/dev/null)" ]; then
    echo "setup: autoreconf"
    mkdir -p build/aux
    autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
    rm -f configure~ build/aux/config.h.in~  # backups autoreconf -f leaves
fi
mkdir -p build
if [ ! -f build/Makefile ] || [ configure -nt build/Makefile ]; then
    echo "setup: configure ${HS_CONFIGURE_FLAGS:-} (in build/)"
    # configure by its absolute path, so abs_top_srcdir (where the demo finds models/) reads clean
    root=$PWD
    # shellcheck disable=SC2086
    (cd build && "$root/configure" ${HS_CONFIGURE_FLAGS:-} > config.out) || { tail -20 build/config.out; exit 1; }
    sed -n "/configured/,\$p" build/config.out
fi
echo "setup: make (in build/)"
make -C build -s -j"$(nproc)"
