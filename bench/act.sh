#!/usr/bin/env bash
# act.sh — the ACT calibration's effect on a task, measured honestly with `analyze sinks --calibrate`:
# heads are chosen on a calibration set (each head alone against the baseline, the authors'
# procedure) and the effect is reported on held-out prompts built from other names and templates.
# The task is an indirect-object completion small story models can only sometimes do ("Lily and Tom
# went to the park. Tom gave the ball to" -> " Lily", wrong " Tom"). Figures, not a test.
#
#   bench/act.sh [MODEL]        (default ../shared/models/stories260K/stories260K.bin)
#
# Environment: BUILD=DIR (configured build tree; default build/ in the repository, as tools/setup.sh makes it),
# WORK (default /tmp/headscope-bench/act), BETA (default 0.4).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(dirname "$here")
MODEL=${1:-$src/../shared/models/stories260K/stories260K.bin}
WORK=${WORK:-/tmp/headscope-bench/act}
BUILD=${BUILD:-$src/build}
make -s -C "$BUILD" headscope >&2
hs=$BUILD/headscope
mkdir -p "$WORK"

# task_set FILE "names..." "template|template|..." : every ordered pair of distinct names in every
# template; %A is the indirect object (the answer), %B the subject, named twice
task_set() {
    local out=$1 names=($2) IFS='|'
    local templates=($3)
    IFS=' '
    : > "$out"
    for t in "${templates[@]}"; do
        for a in "${names[@]}"; do
            for b in "${names[@]}"; do
                [ "$a" = "$b" ] && continue
                local text=${t//%A/$a}
                text=${text//%B/$b}
                printf '{"text": "%s", "answer": " %s", "wrong": " %s"}\n' "$text" "$a" "$b" >> "$out"
            done
        done
    done
}
task_set "$WORK/calibration.jsonl" "Lily Tom Ben Sue Mia Max" \
    "%A and %B went to the park. %B gave the ball to|%A and %B were playing with a toy. %B gave the toy to|%A and %B had a cake. %B gave a piece to"
task_set "$WORK/heldout.jsonl" "Anna Sam Tim Lucy Jack Amy" \
    "%A and %B went to the store. %B gave the apple to|%A and %B found a big box. %B showed the box to|One day, %A and %B saw a bird. %B said to"
db=$WORK/act.db
rm -f "$db" "$db-wal" "$db-shm"
"$hs" run --model "$MODEL" --prompts "$here/natural_stories.jsonl" --db "$db" --quiet
"$hs" analyze sinks --db "$db" --model "$MODEL" --calibrate --beta "${BETA:-0.4}" \
    --calibration "$WORK/calibration.jsonl" --heldout "$WORK/heldout.jsonl"
