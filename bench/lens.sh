#!/usr/bin/env bash
# lens.sh — what `headscope analyze logit-lens` costs per prompt on the GPT-2-small-shaped random
# model: the whole analysis (lens at every layer and position, DLA, component lens of 144 heads and
# 5 neurons per layer), the lens and DLA alone (--no-component-lens), and the recording run that
# precedes them (logits of the last position only: about one forward pass); seconds per 1,000
# prompts and database bytes per prompt. Figures, not a test.
#
#   bench/lens.sh
#
# Per-prompt figures (time and bytes) are the slope between a run of N_SMALL prompts and one of N (so model loading,
# hashing and start-up drop out). Environment: BUILD=DIR (a configured build tree; default build/ in the
# repository, as tools/setup.sh makes it), MODEL=DIR (default /tmp/headscope-bench/gpt2-small-random,
# written by bench/make_gpt2_small.py), TOKENIZER (default ../shared/models/gpt2-tokenizer),
# N (default 24), N_SMALL (default 4), THREADS (OpenBLAS threads, default 2), WORK=DIR.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(dirname "$here")
MODEL=${MODEL:-/tmp/headscope-bench/gpt2-small-random}
TOKENIZER=${TOKENIZER:-$src/../shared/models/gpt2-tokenizer}
N=${N:-24}
N_SMALL=${N_SMALL:-4}
THREADS=${THREADS:-2}
WORK=${WORK:-/tmp/headscope-bench/lens}
PYTHON=${PYTHON:-python3}

BUILD=${BUILD:-$src/build}
[ -f "$BUILD/Makefile" ] || { echo "lens.sh: $BUILD is not a configured build tree: run tools/setup.sh, or set BUILD=DIR" >&2; exit 1; }
make -s -C "$BUILD" headscope >&2
if [ ! -f "$MODEL/model.safetensors" ]; then
    echo "lens.sh: writing the random GPT-2-small model to $MODEL" >&2
    "$PYTHON" "$here/make_gpt2_small.py" "$MODEL" >&2
fi
mkdir -p "$WORK"
hs=$BUILD/headscope
export OPENBLAS_NUM_THREADS=$THREADS

# IOI-style prompts of ~15-20 GPT-2 tokens with an answer and a wrong name (deterministic)
write_prompts() {
    awk -v n="$1" 'BEGIN {
        split("Mary John Alice Bob Sarah Tom Emma David", N, " ");
        split("store park garden school house", P, " ");
        split("drink ball book apple", O, " ");
        for (i = 0; i < n; i++) {
            a = N[i % 8 + 1]; b = N[(i + 3) % 8 + 1]; p = P[i % 5 + 1]; o = O[i % 4 + 1];
            printf("{\"id\": %d, \"text\": \"When %s and %s went to the %s, %s gave a %s to\", \"answer\": \" %s\", \"wrong\": \" %s\"}\n",
                   i, a, b, p, b, o, a, b);
        } }' > "$2"
}

now() { date +%s.%N; }

# seconds of one command
timed() {
    local t0 t1
    t0=$(now)
    "$@" > /dev/null
    t1=$(now)
    echo "$t1 - $t0" | bc -l
}

declare -A secs bytes
for n in "$N_SMALL" "$N"; do
    prompts=$WORK/prompts-$n.jsonl
    db=$WORK/lens-$n.db
    write_prompts "$n" "$prompts"
    rm -f "$db" "$db-wal" "$db-shm" "$db.full" "$db.full-wal" "$db.full-shm"
    secs[run,$n]=$(timed "$hs" run --model "$MODEL" --tokenizer "$TOKENIZER" --prompts "$prompts" --db "$db" \
                   --record logits --positions -1 --no-summaries --quiet)
    # (the last connection to close checkpoints the WAL into the file, so sizes are whole)
    base=$(stat -c %s "$db")
    cp "$db" "$db.full"
    secs[lens,$n]=$(timed "$hs" analyze logit-lens --db "$db" --tokenizer "$TOKENIZER" --no-component-lens --quiet)
    bytes[lens,$n]=$(( $(stat -c %s "$db") - base ))
    secs[full,$n]=$(timed "$hs" analyze logit-lens --db "$db.full" --tokenizer "$TOKENIZER" --quiet)
    bytes[full,$n]=$(( $(stat -c %s "$db.full") - base ))
done

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), OPENBLAS_NUM_THREADS=$THREADS"
echo "model: $MODEL (12 layers, d_model 768, 12 heads, vocab 50257); prompts: IOI-style, ~16 tokens"
printf "\n%-34s %12s %14s %16s\n" "step" "s / prompt" "s / 1,000" "db bytes/prompt"
for step in run lens full; do
    per=$(echo "(${secs[$step,$N]} - ${secs[$step,$N_SMALL]}) / ($N - $N_SMALL)" | bc -l)
    case $step in
        run) label="record (forward, last logits)"; b="-" ;;
        lens) label="analyze --no-component-lens"; b=$(( (bytes[lens,$N] - bytes[lens,$N_SMALL]) / (N - N_SMALL) )) ;;
        full) label="analyze (lens + DLA + comp. lens)"; b=$(( (bytes[full,$N] - bytes[full,$N_SMALL]) / (N - N_SMALL) )) ;;
    esac
    printf "%-34s %12.3f %14.0f %16s\n" "$label" "$per" "$(echo "$per * 1000" | bc -l)" "$b"
done
