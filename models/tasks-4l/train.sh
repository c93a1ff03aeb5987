#!/usr/bin/env bash
# train.sh — retrains tasks-4l from scratch exactly as its model card says and checks that the
# weights come out byte for byte the same as the shipped ones (same machine kind: the BLAS kernels
# and the thread count are part of the arithmetic). Takes about 40 minutes on 2 cores.
#
#   models/tasks-4l/train.sh [WORKDIR]      (default /tmp/headscope-retrain-tasks-4l)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
hs=$src/headscope
work=${1:-/tmp/headscope-retrain-tasks-4l}
mkdir -p "$work"
cd "$work"
"$hs" dataset corpus --out corpus.txt --size-mb 16 --seed 0
"$hs" tokenizer train --corpus corpus.txt --vocab-size 2048 --task-tokens --out tokenizer.json
"$hs" train --corpus corpus.txt --tokenizer tokenizer.json --out model --layers 4 --d-model 128 --heads 4 \
    --ctx 128 --batch 16 --steps 14000 --lr 2e-3 --seed 0 --threads 2 --eval-every 1000
for f in tokenizer.json model.safetensors; do
    want=$(sha256sum < "$here/$f" | cut -d' ' -f1)
    got=$(sha256sum < "model/$f" | cut -d' ' -f1)
    if [ "$want" = "$got" ]; then echo "train.sh: $f identical ($got)"; else
        echo "train.sh: $f differs: shipped $want, retrained $got" >&2; exit 1; fi
done
