#!/bin/sh
# fuzz.sh — builds the libFuzzer targets of tests/fuzz/ with clang (-fsanitize=fuzzer,address,undefined)
# straight from the library sources that Makefile.am lists, and runs each on its corpus.
#
# usage: tools/fuzz.sh [-t SECONDS] [-j JOBS] [-m] [-b] [TARGET...]
#   TARGET   safetensors, config, tokenizer (default: all three)
#   -t N     run each target N seconds (default 60; 0 = build only)
#   -j N     libFuzzer workers per target (default 1)
#   -m       minimise: merge the committed corpus and what this run found into a fresh directory
#            and replace tests/fuzz/corpus/TARGET with it (-merge=1)
#   -b       build only
# Environment: FUZZ_BUILD (build directory, default /tmp/hs-fuzz), HS_BUILD (the configured build tree
#   for config.h and report/viewer_js.h, default build/), CC (default clang),
#   FUZZ_EXTRA_SRCS (extra .c files to link, e.g. a stub for a subsystem still being written).
# A target whose library code does not link yet (e.g. the tokenizer while it is written) is
# reported and skipped; a crash leaves its input as $FUZZ_BUILD/crash-TARGET-* and fails the script.
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
SCRIPT=$SRC/tools/fuzz.sh
BUILD=${FUZZ_BUILD:-/tmp/hs-fuzz}
CC=${CC:-clang}
SECONDS_EACH=60
JOBS=1
MINIMISE=0
while getopts "t:j:mb" opt; do
    case $opt in
    t) SECONDS_EACH=$OPTARG ;;
    j) JOBS=$OPTARG ;;
    m) MINIMISE=1 ;;
    b) SECONDS_EACH=0 ;;
    *) sed -n '2,16p' "$0" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
TARGETS=${*:-safetensors config tokenizer}

PKGS="sqlite3 cairo pangocairo gsl libxml-2.0 jansson libpcre2-8 openblas nettle"
PKG_CFLAGS=$(pkg-config --cflags $PKGS)
PKG_LIBS="$(pkg-config --libs $PKGS) -lunistring -lm"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
# config.h and the generated report/viewer_js.h come from the configured build tree (tools/setup.sh)
HS_BUILD=${HS_BUILD:-$SRC/build}
[ -f "$HS_BUILD/config.h" ] && [ -f "$HS_BUILD/report/viewer_js.h" ] ||
    { echo "fuzz.sh: $HS_BUILD has no config.h or report/viewer_js.h: run tools/setup.sh first (or set HS_BUILD)" >&2; exit 1; }
CFLAGS="-std=gnu11 -g -O1 $SAN -Wno-unknown-pragmas -I$SRC/include -I$SRC -I$HS_BUILD $PKG_CFLAGS"

# The library's .c files, as libheadscope_a_SOURCES lists them (continuation lines included).
LIB_SRCS=$(awk '/^libheadscope_a_SOURCES/ { on = 1 }
               on { for (i = 1; i <= NF; i++) if ($i ~ /\.c$/) print $i; if ($NF != "\\") on = 0 }' \
           "$SRC/Makefile.am")

mkdir -p "$BUILD/obj"
echo "fuzz.sh: compiling the library into $BUILD"
OBJS=
for s in ${FUZZ_EXTRA_SRCS:-} $LIB_SRCS; do
    case $s in /*) path=$s ;; *) path=$SRC/$s ;; esac
    o=$BUILD/obj/$(echo "$s" | tr '/' '_' | sed 's/\.c$/.o/')
    if [ ! -f "$o" ] || [ "$path" -nt "$o" ] || [ "$SCRIPT" -nt "$o" ]; then
        $CC $CFLAGS -fsanitize=fuzzer-no-link -c "$path" -o "$o" || { echo "fuzz.sh: $s does not compile" >&2; exit 1; }
    fi
    OBJS="$OBJS $o"
done
# An archive, so that each target pulls in only the objects it needs (the extra sources come
# first, so their definitions win).
rm -f "$BUILD/libhs-fuzz.a"
ar rcs "$BUILD/libhs-fuzz.a" $OBJS

# A JSON dictionary: every input here is JSON or carries a JSON header.
cat > "$BUILD/json.dict" <<'DICT'
"{"
"}"
"["
"]"
":"
","
"\""
"null"
"true"
"false"
"-1"
"0"
"1e309"
"9223372036854775807"
"18446744073709551616"
"\\u0000"
"__metadata__"
"dtype"
"shape"
"data_offsets"
"F32"
"F16"
"BF16"
"F64"
"I32"
"I64"
"I8"
"U8"
"BOOL"
"weight_map"
"a.safetensors"
"b.safetensors"
"model_type"
"gpt2"
"llama"
"mistral"
"qwen2"
"gpt_neox"
"n_embd"
"n_layer"
"n_head"
"n_positions"
"n_ctx"
"n_inner"
"vocab_size"
"hidden_size"
"num_hidden_layers"
"num_attention_heads"
"num_key_value_heads"
"head_dim"
"intermediate_size"
"max_position_embeddings"
"rope_theta"
"rope_scaling"
"rope_parameters"
"rope_type"
"partial_rotary_factor"
"rotary_pct"
"rotary_emb_base"
"sliding_window"
"use_sliding_window"
"layer_types"
"tie_word_embeddings"
"bos_token_id"
"eos_token_id"
"torch_dtype"
"hidden_act"
"activation_function"
"model"
"vocab"
"merges"
"added_tokens"
"pre_tokenizer"
"decoder"
"normalizer"
"byte_fallback"
"ByteLevel"
"BPE"
"Metaspace"
"special"
"content"
"id"
DICT

status=0
for t in $TARGETS; do
    exe=$BUILD/fuzz_$t
    if ! $CC $CFLAGS -fsanitize=fuzzer "$SRC/tests/fuzz/fuzz_$t.c" "$BUILD/libhs-fuzz.a" $PKG_LIBS -o "$exe" \
        2>"$BUILD/link-$t.log"; then
        echo "fuzz.sh: $t: does not link yet, skipped (see $BUILD/link-$t.log)" >&2
        continue
    fi
    [ "$SECONDS_EACH" -gt 0 ] || continue
    corpus=$SRC/tests/fuzz/corpus/$t
    work=$BUILD/work-$t
    mkdir -p "$corpus" "$work"
    echo "fuzz.sh: $t: $SECONDS_EACH s on $corpus"
    parallel=
    [ "$JOBS" -le 1 ] || parallel="-jobs=$JOBS -workers=$JOBS"
    # shellcheck disable=SC2086
    if ! (cd "$BUILD" && rm -f fuzz-*.log && "$exe" -max_total_time="$SECONDS_EACH" -timeout=10 \
        -rss_limit_mb=2048 -max_len=16384 -dict="$BUILD/json.dict" -print_final_stats=1 $parallel \
        -artifact_prefix="$BUILD/crash-$t-" "$work" "$corpus" >"$BUILD/run-$t.log" 2>&1); then
        echo "fuzz.sh: $t: FAILED, see $BUILD/run-$t.log and $BUILD/crash-$t-*" >&2
        status=1
    fi
    [ -z "$parallel" ] || cat "$BUILD"/fuzz-*.log >>"$BUILD/run-$t.log" 2>/dev/null || true
    grep -E "^stat::number_of_executed_units|^#[0-9]+.*(DONE|cov:)" "$BUILD/run-$t.log" | tail -2 || true
    if [ "$MINIMISE" = 1 ]; then
        fresh=$BUILD/min-$t
        rm -rf "$fresh" && mkdir -p "$fresh"
        "$exe" -merge=1 -max_len=16384 "$fresh" "$corpus" "$work" >"$BUILD/merge-$t.log" 2>&1 || true
        n=$(find "$fresh" -type f | wc -l)
        if [ "$n" -gt 0 ]; then # never replace the corpus with the result of a failed merge
            rm -rf "$corpus" && mkdir -p "$corpus" && cp "$fresh"/* "$corpus"/
            echo "fuzz.sh: $t: corpus minimised to $n files"
        else
            echo "fuzz.sh: $t: merge produced nothing, corpus kept (see $BUILD/merge-$t.log)" >&2
        fi
    fi
done
exit $status
