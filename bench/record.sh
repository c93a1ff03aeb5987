#!/usr/bin/env bash
# record.sh — what recording into the store costs: prompts/s and MB/s of `headscope run`'s recorder
# against the forward pass alone, for the default selection (pattern, z, resid_post, f16) and for
# every hook, on the GPT-2-small-shaped random model; database bytes per prompt. Figures, not a test.
#
#   bench/record.sh
#
# Environment: BUILD=DIR (a configured build tree; default build/ in the repository, as tools/setup.sh makes it),
# MODEL=DIR (default /tmp/headscope-bench/gpt2-small-random, written by bench/make_gpt2_small.py),
# TOKENIZER (default ../shared/models/gpt2-tokenizer), N=prompts (default 100), TOKENS=~tokens per
# prompt (default 64), THREADS (OpenBLAS threads, default 2), WORK=DIR for the databases.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(dirname "$here")
MODEL=${MODEL:-/tmp/headscope-bench/gpt2-small-random}
TOKENIZER=${TOKENIZER:-$src/../shared/models/gpt2-tokenizer}
N=${N:-100}
TOKENS=${TOKENS:-64}
THREADS=${THREADS:-2}
WORK=${WORK:-/tmp/headscope-bench/record}
PYTHON=${PYTHON:-python3}

BUILD=${BUILD:-$src/build}
[ -f "$BUILD/Makefile" ] || { echo "record.sh: $BUILD is not a configured build tree: run tools/setup.sh, or set BUILD=DIR" >&2; exit 1; }
make -s -C "$BUILD" bench/bench-record >&2
if [ ! -f "$MODEL/model.safetensors" ]; then
    echo "record.sh: writing the random GPT-2-small model to $MODEL" >&2
    "$PYTHON" "$here/make_gpt2_small.py" "$MODEL" >&2
fi
mkdir -p "$WORK"

# N prompts of about TOKENS GPT-2 tokens of plain English (deterministic)
prompts=$WORK/prompts-$N-$TOKENS.jsonl
words=(the a little girl boy saw big red ball dog cat park ran jumped over happy sad tree house
       and then she he it was in on to with for of day night sun moon river stone friend mother)
awk -v n="$N" -v t="$TOKENS" -v w="${words[*]}" 'BEGIN {
    split(w, W, " "); srand(1);
    for (i = 0; i < n; i++) {
        s = "Once upon a time";
        for (j = 4; j < t; j++) s = s " " W[int(rand() * length(W)) + 1];
        printf("{\"id\": %d, \"text\": \"%s.\"}\n", i, s);
    } }' > "$prompts"

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), OPENBLAS_NUM_THREADS=$THREADS," \
     "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
out=$(env OPENBLAS_NUM_THREADS="$THREADS" "$BUILD/bench/bench-record" "$MODEL" "$TOKENIZER" "$prompts" "$WORK")
echo "$out"
echo "$out" | awk '
    { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } m = v["mode"];
      ps[m] = v["prompts_s"]; ov[m] = v["overhead"]; bpp[m] = v["bytes_per_prompt"]; mbs[m] = v["mb_s"]; order[++n] = m }
    END {
      printf("\n%-12s %11s %10s %14s %8s\n", "mode", "prompts/s", "overhead", "bytes/prompt", "MB/s");
      for (k = 1; k <= n; k++) { m = order[k];
        printf("%-12s %11.2f %9.1f%% %14s %8s\n", m, ps[m], 100 * ov[m], m == "forward" ? "-" : bpp[m], m == "forward" ? "-" : mbs[m]) }
    }'
