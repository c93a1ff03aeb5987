#!/usr/bin/env bash
# analyze.sh — time of `analyze heads` and `analyze sinks` per 1,000 prompts on the GPT-2-small-shaped
# random model, from the store (stored float16 patterns) and from the model (patterns recomputed by
# a forward pass on the stored tokens), and of the sinks magnitudes pass (norms, massive activations:
# one forward pass per prompt). Figures, not a test.
#
#   bench/analyze.sh
#
# Environment: BUILD=DIR (configured build tree; default build/ in the repository, as tools/setup.sh makes it),
# MODEL (default /tmp/headscope-bench/gpt2-small-random, from bench/make_gpt2_small.py), TOKENIZER
# (default ../shared/models/gpt2-tokenizer), N prompts (default 100), TOKENS (default 64), WORK.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(dirname "$here")
MODEL=${MODEL:-/tmp/headscope-bench/gpt2-small-random}
TOKENIZER=${TOKENIZER:-$src/../shared/models/gpt2-tokenizer}
N=${N:-100}
TOKENS=${TOKENS:-64}
WORK=${WORK:-/tmp/headscope-bench/analyze}
BUILD=${BUILD:-$src/build}
[ -f "$BUILD/Makefile" ] || { echo "analyze.sh: $BUILD is not a configured build tree: run tools/setup.sh, or set BUILD=DIR" >&2; exit 1; }
make -s -C "$BUILD" headscope >&2
hs=$BUILD/headscope
[ -f "$MODEL/model.safetensors" ] || python3 "$here/make_gpt2_small.py" "$MODEL" >&2
mkdir -p "$WORK"
prompts=$WORK/prompts-$N-$TOKENS.jsonl
words=(the a little girl boy saw big red ball dog cat park ran jumped over happy sad tree house
       and then she he it was in on to with for of day night sun moon river stone friend mother)
awk -v n="$N" -v t="$TOKENS" -v w="${words[*]}" 'BEGIN {
    split(w, W, " "); srand(1);
    for (i = 0; i < n; i++) {
        s = "Once upon a time";
        for (j = 4; j < t - 1; j++) s = s " " W[int(rand() * length(W)) + 1];
        printf("{\"id\": %d, \"text\": \"%s.\"}\n", i, s);
    } }' > "$prompts"
db=$WORK/store-$N-$TOKENS.db
[ -f "$db" ] || "$hs" run --model "$MODEL" --tokenizer "$TOKENIZER" --prompts "$prompts" --db "$db" --quiet >&2
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; $N prompts of $TOKENS tokens, 144 heads"
t() { local t0 t1; t0=$(date +%s.%N); "$@" > /dev/null || { echo "analyze.sh: $* failed" >&2; exit 1; }
      t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
for a in heads sinks; do
    s=$(t "$hs" analyze "$a" --db "$db" --quiet)
    extra=(); [ "$a" = sinks ] && extra=(--no-magnitudes)
    m=$(t "$hs" analyze "$a" --db "$db" --model "$MODEL" --recompute "${extra[@]}" --quiet)
    printf "analyze %-6s from the store %7.2f s (%7.1f s per 1,000 prompts)   from the model %7.2f s (%7.1f s per 1,000)\n" \
        "$a" "$s" "$(echo "$s * 1000 / $N" | bc -l)" "$m" "$(echo "$m * 1000 / $N" | bc -l)"
done
# the magnitudes pass (norms, massive activations) always runs the model: patterns from the store
s=$(t "$hs" analyze sinks --db "$db" --model "$MODEL" --quiet)
printf "analyze sinks  with --model: patterns from the store + magnitudes pass %7.2f s (%7.1f s per 1,000 prompts)\n" \
    "$s" "$(echo "$s * 1000 / $N" | bc -l)"
