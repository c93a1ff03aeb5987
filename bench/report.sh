#!/usr/bin/env bash
# report.sh — what writing the HTML report costs: seconds and bytes of `headscope report` for a
# store of the GPT-2-small-shaped random model (12 layers x 12 heads = 144 heads) with N prompts of
# about TOKENS tokens, recorded with the default selection. Figures, not a test.
#
#   bench/report.sh
#
# Environment: BUILD=DIR (a configured build tree; default build/ in the repository, as tools/setup.sh makes it),
# MODEL=DIR (default /tmp/headscope-bench/gpt2-small-random, written by bench/make_gpt2_small.py),
# TOKENIZER (default ../shared/models/gpt2-tokenizer), N (default 100), TOKENS (default 128),
# WORK=DIR for the store and the reports, ROUNDS (default 3).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(dirname "$here")
MODEL=${MODEL:-/tmp/headscope-bench/gpt2-small-random}
TOKENIZER=${TOKENIZER:-$src/../shared/models/gpt2-tokenizer}
N=${N:-100}
TOKENS=${TOKENS:-128}
WORK=${WORK:-/tmp/headscope-bench/report}
ROUNDS=${ROUNDS:-3}
PYTHON=${PYTHON:-python3}

BUILD=${BUILD:-$src/build}
[ -f "$BUILD/Makefile" ] || { echo "report.sh: $BUILD is not a configured build tree: run tools/setup.sh, or set BUILD=DIR" >&2; exit 1; }
make -s -C "$BUILD" headscope >&2
hs=$BUILD/headscope
if [ ! -f "$MODEL/model.safetensors" ]; then
    echo "report.sh: writing the random GPT-2-small model to $MODEL" >&2
    "$PYTHON" "$here/make_gpt2_small.py" "$MODEL" >&2
fi
mkdir -p "$WORK"

# N prompts of TOKENS tokens: the word list below is one GPT-2 token per word (" the", " a", ...)
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
if [ ! -f "$db" ]; then
    echo "report.sh: recording $N prompts into $db (once)" >&2
    "$hs" run --model "$MODEL" --tokenizer "$TOKENIZER" --prompts "$prompts" --db "$db" --quiet >&2
fi
"$hs" sql "$db" "SELECT count(*) AS prompts, avg(n_tokens) AS tokens_per_prompt,
    (SELECT count(DISTINCT layer || '.' || head) FROM head_scores) AS heads FROM prompts"
echo "store: $(du -m "$db" | cut -f1) MB"

run() { # label, options...
    local label=$1; shift
    local best=""
    for r in $(seq "$ROUNDS"); do
        local t0 t1
        t0=$(date +%s.%N)
        "$hs" report --db "$db" --out "$WORK/report-$label" "$@" > /dev/null
        t1=$(date +%s.%N)
        local s
        s=$(echo "$t1 - $t0" | bc)
        if [ -z "$best" ] || [ "$(echo "$s < $best" | bc)" = 1 ]; then best=$s; fi
    done
    local bytes files html
    bytes=$(du -sb "$WORK/report-$label" | cut -f1)
    files=$(find "$WORK/report-$label" -type f | wc -l)
    html=$(stat -c %s "$WORK/report-$label/index.html")
    printf "%-28s %8.2f s %9.1f MB %6d files   index.html %6.1f MB\n" "$label" "$best" \
        "$(echo "$bytes / 1048576" | bc -l)" "$files" "$(echo "$html / 1048576" | bc -l)"
}
echo
echo "headscope report, best of $ROUNDS:"
run default
run viewer-0 --viewer-prompts 0
run viewer-32 --viewer-prompts 32
run svg-only --formats svg
