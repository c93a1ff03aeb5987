#!/usr/bin/env bash
# setup.sh — idempotent set-up shared by ./quickstart and ./run-tests: installs the Debian
# packages headscope needs (by name, only those missing), then autoreconf/configure/make.
# Quick when everything is already there. Extra configure options: HS_CONFIGURE_FLAGS.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential autoconf automake libtool pkg-config
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

if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ] \
   || [ -n "$(find m4 -name 'hs_*.m4' -newer configure 2>/dev/null)" ]; then
    echo "setup: autoreconf"
    autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
fi
if [ ! -f Makefile ] || [ configure -nt Makefile ]; then
    echo "setup: configure ${HS_CONFIGURE_FLAGS:-}"
    ./configure ${HS_CONFIGURE_FLAGS:-} > config.out || { tail -20 config.out; exit 1; }
    sed -n "/configured/,\$p" config.out
fi
echo "setup: make"
make -s -j"$(nproc)"
