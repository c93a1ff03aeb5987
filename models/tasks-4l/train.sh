#!/usr/bin/env bash
# train.sh — retrains tasks-4l from scratch exactly as its model card says, in its three stages,
# and checks that the weights come out byte for byte the same as the shipped ones (same machine
# kind: the BLAS kernels and the thread count are part of the arithmetic). About an hour on 2 cores.
#
#   models/tasks-4l/train.sh [WORKDIR]      (default /tmp/headscope-retrain-tasks-4l)
#
# A stage is skipped when WORKDIR already holds its result (WORKDIR/stage1 or WORKDIR/stage2, their
# sha256 checked), so the later stages can be re-checked on their own; a stage that runs replaces
# what an earlier try left in its folder (--force).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
hs=$src/headscope
work=${1:-/tmp/headscope-retrain-tasks-4l}
stage1_sha=4400cf7740cc4b54d4497abf2df652c0f877fb270a912c2ae44131703902ea97
stage2_sha=7be09e9e700543e9d913635dff643e7eebdb20f2fde15bf54da6af24cce2e9d8
mkdir -p "$work"
cd "$work"

sha() { sha256sum < "$1" | cut -d' ' -f1; }

# check_stage DIR SHA: DIR/model.safetensors has that sha256, or fail
check_stage() {
    local got
    got=$(sha "$1/model.safetensors")
    if [ "$got" = "$2" ]; then echo "train.sh: $1 weights identical ($got)"; else
        echo "train.sh: $1 weights differ: expected $2, retrained $got" >&2; exit 1; fi
}

if [ -f stage2/model.safetensors ] && [ "$(sha stage2/model.safetensors)" = "$stage2_sha" ]; then
    echo "train.sh: stage 2 weights already in $work/stage2 ($stage2_sha), skipping stages 1 and 2"
else
    if [ -f stage1/model.safetensors ] && [ "$(sha stage1/model.safetensors)" = "$stage1_sha" ]; then
        echo "train.sh: stage 1 weights already in $work/stage1 ($stage1_sha), skipping stage 1"
    else
        # stage 1: the equal-share corpus, from scratch
        "$hs" dataset corpus --out corpus.txt --size-mb 16 --seed 0
        "$hs" tokenizer train --corpus corpus.txt --vocab-size 2048 --task-tokens --out tokenizer.json
        "$hs" train --corpus corpus.txt --tokenizer tokenizer.json --out stage1 --force --layers 4 --d-model 128 \
            --heads 4 --ctx 128 --batch 16 --steps 14000 --lr 2e-3 --seed 0 --threads 2 --eval-every 1000
        check_stage stage1 "$stage1_sha"
    fi
    # stage 2: a corpus weighted towards the in-context tasks, fine-tuning stage 1
    "$hs" dataset corpus --out corpus2.txt --size-mb 24 --seed 1 --mix 70,20,10 \
        --task-weights colored-objects=4,mcq=3,arithmetic=8
    "$hs" train --init stage1 --corpus corpus2.txt --out stage2 --force --batch 16 --steps 12000 --lr 1e-3 --seed 0 \
        --threads 2 --eval-every 1000
    check_stage stage2 "$stage2_sha"
fi

# stage 3: a fresh corpus, factual recall and greater-than weighted up again, at half the rate
"$hs" dataset corpus --out corpus3.txt --size-mb 16 --seed 2 --mix 70,20,10 \
    --task-weights colored-objects=4,mcq=4,arithmetic=8,factual=2,greater-than=2
"$hs" train --init stage2 --corpus corpus3.txt --out model --force --batch 16 --steps 6000 --lr 5e-4 --seed 0 \
    --threads 2 --eval-every 1000
for f in tokenizer.json tokenizer_config.json model.safetensors; do
    want=$(sha "$here/$f")
    got=$(sha "model/$f")
    if [ "$want" = "$got" ]; then echo "train.sh: $f identical ($got)"; else
        echo "train.sh: $f differs: shipped $want, retrained $got" >&2; exit 1; fi
done
