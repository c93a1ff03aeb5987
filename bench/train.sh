#!/usr/bin/env bash
# train.sh — training throughput (tokens/s of forward + backward + clipping + AdamW) of headscope
# against PyTorch/transformers on the same GPT-2 configuration, side by side: prints each tool's
# median tokens/s and the ratio headscope/PyTorch, under each OPENBLAS_CORETYPE setting given
# (OpenBLAS's own detection, which names a virtualised Xeon "Prescott" and takes its generic
# kernels; a preset Haswell; SkylakeX, the AVX-512 kernels).
#
#   bench/train.sh                        (from the repository root or anywhere)
#
# Environment:
#   BUILD=DIR       a configured build tree (default: build/ in the repository, as tools/setup.sh makes it);
#                   bench/bench-train is built there with `make bench/bench-train` if needed
#   THREADS=N       threads for each tool (default 2): headscope's own threads over the batch
#                   (bench-train --threads, as `headscope train` runs, with single-threaded BLAS),
#                   torch.set_num_threads + OMP_WAIT_POLICY=PASSIVE for PyTorch
#   ROUNDS=N        interleaved rounds (default 3); each round runs one process of each tool,
#                   alternating which goes first; the figure is the median over rounds of each
#                   process's median step
#   STEPS=N         timed steps per process (default 20, after 3 untimed)
#   CORETYPES       "default Haswell SkylakeX" (default)
#   ARGS            the configuration (default "--layers 4 --d-model 128 --heads 4 --ctx 128
#                   --batch 8 --vocab 257")
# Speed is measured here, never in tests.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(dirname "$here")
BUILD=${BUILD:-$src/build}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
STEPS=${STEPS:-20}
CORETYPES=${CORETYPES:-"default Haswell SkylakeX"}
ARGS=${ARGS:-"--layers 4 --d-model 128 --heads 4 --ctx 128 --batch 8 --vocab 257"}
PYTHON=${PYTHON:-python3}

[ -f "$BUILD/Makefile" ] || { echo "train.sh: $BUILD is not a configured build tree (set BUILD=DIR)" >&2; exit 1; }
make -s -C "$BUILD" bench/bench-train >&2
"$PYTHON" -c 'import torch, transformers' 2>/dev/null || { echo "train.sh: needs python3 with torch and transformers" >&2; exit 1; }

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

echo "config: $ARGS; threads $THREADS; $ROUNDS rounds of $STEPS steps; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
echo "OPENBLAS_* in the environment: $(env | grep '^OPENBLAS' | tr '\n' ' ' || true)"
for ct in $CORETYPES; do
    hs=() pt=()
    for r in $(seq "$ROUNDS"); do
        run_hs() {
            if [ "$ct" = default ]; then
                env -u OPENBLAS_CORETYPE "$BUILD/bench/bench-train" $ARGS --steps "$STEPS" --threads "$THREADS"
            else
                OPENBLAS_CORETYPE=$ct "$BUILD/bench/bench-train" $ARGS --steps "$STEPS" --threads "$THREADS"
            fi
        }
        run_pt() { OMP_WAIT_POLICY=PASSIVE "$PYTHON" "$here/train_ref.py" $ARGS --steps "$STEPS" --threads "$THREADS" 2>/dev/null; }
        if [ $((r % 2)) = 1 ]; then a=$(run_hs); b=$(run_pt); else b=$(run_pt); a=$(run_hs); fi
        hs+=("$(echo "$a" | field median_tok_s)")
        pt+=("$(echo "$b" | field median_tok_s)")
    done
    h=$(printf '%s\n' "${hs[@]}" | median)
    p=$(printf '%s\n' "${pt[@]}" | median)
    printf 'coretype %-8s headscope %7.0f tok/s  pytorch %7.0f tok/s  ratio %.2f   (rounds: headscope %s; pytorch %s)\n' \
        "$ct" "$h" "$p" "$(echo "$h / $p" | bc -l)" "${hs[*]}" "${pt[*]}"
done
