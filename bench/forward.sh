#!/usr/bin/env bash
# forward.sh — forward-pass throughput of headscope against PyTorch/transformers at its best, side
# by side in one run: a GPT-2-small-shaped random model, batch 1x128 and 8x128 tokens, plain
# (logits only) and observed (every attention pattern, hook_z, resid_pre and resid_post copied
# into memory kept for the pass, as TransformerLens's run_with_cache does). Prints tokens/s,
# the ratio headscope/PyTorch and each tool's observer overhead; then the same again with the
# other OPENBLAS_CORETYPE setting (a preset Haswell core type slows OpenBLAS sgemm on AVX-512 CPUs).
#
#   bench/forward.sh                      (from the repository root or anywhere)
#
# Environment:
#   BUILD=DIR    a configured build tree (default: build/ in the repository, as tools/setup.sh makes it);
#                bench/bench-forward is built there with `make bench/bench-forward` if needed
#   MODEL=DIR    the model (default /tmp/headscope-bench/gpt2-small-random; written by
#                bench/make_gpt2_small.py when absent, reused when present)
#   REPS=N       timed repetitions per tool and configuration (default 5); the figure is the median
#   THREADS=N    threads for each tool (default 2): OPENBLAS_NUM_THREADS for headscope,
#                torch.set_num_threads + OMP_WAIT_POLICY=PASSIVE for PyTorch
#   CONFIGS      "BxT ..." (default "1x128 8x128")
#
# Method: repetitions are interleaved — each round runs one headscope process and one PyTorch
# process per configuration (which goes first alternates by round), each doing one untimed
# warm-up pass and one timed pass — so machine noise hits both tools alike. Loading is not timed.
# Speed is measured here, never in tests.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(dirname "$here")
MODEL=${MODEL:-/tmp/headscope-bench/gpt2-small-random}
REPS=${REPS:-5}
THREADS=${THREADS:-2}
CONFIGS=${CONFIGS:-"1x128 8x128"}
PYTHON=${PYTHON:-python3}

# ---- the build
BUILD=${BUILD:-$src/build}
[ -f "$BUILD/Makefile" ] || { echo "forward.sh: $BUILD is not a configured build tree: run tools/setup.sh, or set BUILD=DIR" >&2; exit 1; }
make -s -C "$BUILD" bench/bench-forward >&2
hs_bin=$BUILD/bench/bench-forward

# ---- the model
if [ ! -f "$MODEL/config.json" ] || [ ! -f "$MODEL/model.safetensors" ]; then
    echo "forward.sh: writing the random GPT-2-small model to $MODEL" >&2
    "$PYTHON" "$here/make_gpt2_small.py" "$MODEL" >&2
fi

run_hs() { # B T observe -> one result line
    env OPENBLAS_NUM_THREADS="$THREADS" "$hs_bin" "$MODEL" --batch "$1" --pos "$2" --reps 1 --warmup 1 \
        ${3:+--observe}
}
run_pt() {
    env OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS="$THREADS" "$PYTHON" "$here/forward_torch.py" "$MODEL" \
        --threads "$THREADS" --batch "$1" --pos "$2" --reps 1 --warmup 1 ${3:+--observe} 2>/dev/null
}

# One full measurement under the current environment; $1 is its title.
measure() {
    local title=$1 out
    out=$(mktemp)
    echo
    echo "== $title"
    echo "headscope: $(env OPENBLAS_NUM_THREADS="$THREADS" "$hs_bin" --info)"
    echo "PyTorch:   $(env OMP_WAIT_POLICY=PASSIVE "$PYTHON" "$here/forward_torch.py" --info --threads "$THREADS")"
    for ((r = 1; r <= REPS; r++)); do
        for cfg in $CONFIGS; do
            local B=${cfg%x*} T=${cfg#*x}
            for obs in "" 1; do
                if ((r % 2)); then
                    echo "$(run_hs "$B" "$T" "$obs") round=$r" >>"$out"
                    echo "$(run_pt "$B" "$T" "$obs") round=$r" >>"$out"
                else
                    echo "$(run_pt "$B" "$T" "$obs") round=$r" >>"$out"
                    echo "$(run_hs "$B" "$T" "$obs") round=$r" >>"$out"
                fi
            done
        done
        echo "  round $r/$REPS done" >&2
    done
    "$PYTHON" - "$out" "$CONFIGS" <<'EOF'
import statistics, sys
med = statistics.median
ms = {}   # (tool, b, t, observe) -> {round: [ms, ...]}
kept, sums = {}, {}
for line in open(sys.argv[1]):
    f = line.split()
    kv = dict(x.split("=", 1) for x in f[1:])
    key = (f[0], int(kv["batch"]), int(kv["pos"]), int(kv["observe"]))
    ms.setdefault(key, {}).setdefault(int(kv["round"]), []).extend(float(t) for t in kv["times_ms"].split(","))
    kept.setdefault(key, set()).add(f'{kv["cached_tensors"]} tensors / {kv["cached_mb"]} MB')
    sums.setdefault(key[1:], set()).add(float(kv["logits_sum_last"]))

def all_ms(key):
    return [x for r in ms[key].values() for x in r]

def tok_s(key):  # median (slowest-fastest)
    n, v = key[1] * key[2], all_ms(key)
    return f"{n / med(v) * 1e3:.1f} ({n / max(v) * 1e3:.0f}-{n / min(v) * 1e3:.0f})"

def paired(num, den):  # per-round ratios (round median of num) / (round median of den)
    return sorted(med(ms[num][r]) / med(ms[den][r]) for r in ms[num] if r in ms[den])

def ratio(v):
    return f"{med(v):.2f} ({v[0]:.2f}-{v[-1]:.2f})"

def overhead(v):
    return f"{100 * (med(v) - 1):+.0f}% ({100 * (v[0] - 1):+.0f}..{100 * (v[-1] - 1):+.0f})"

print(f'{"config":<16}{"headscope tok/s":>21}{"PyTorch tok/s":>21}{"hs/PyTorch":>19}{"hs overhead":>19}{"PT overhead":>19}')
notes = []
for cfg in sys.argv[2].split():
    b, t = map(int, cfg.split("x"))
    for o in (0, 1):
        hk, pk = ("headscope", b, t, o), ("pytorch", b, t, o)
        rt = ratio(paired(pk, hk))  # tok/s ratio = inverse time ratio
        ovh = ovp = ""
        if o:
            ovh = overhead(paired(hk, hk[:3] + (0,)))
            ovp = overhead(paired(pk, pk[:3] + (0,)))
            notes.append(f"{b}x{t} cache: headscope {', '.join(kept[hk])}; PyTorch {', '.join(kept[pk])}")
        name = f"{b}x{t} {'observed' if o else 'plain'}"
        print(f"{name:<16}{tok_s(hk):>21}{tok_s(pk):>21}{rt:>19}{ovh:>19}{ovp:>19}")
        s = sums[(b, t, o)]
        if max(s) - min(s) > 1e-3 * max(1.0, max(abs(x) for x in s)):
            notes.append(f"WARNING {name}: the tools' logits differ (sum of the last row: {sorted(s)})")
n = len(all_ms(hk))
print(f"tok/s: median of {n} timed passes (slowest-fastest). hs/PyTorch (tok/s ratio) and overheads")
print("(observed time / plain time - 1) are paired: the median of the per-round ratios (lowest-highest),")
print("each round running both tools back to back, so that noise drifting between rounds cancels.")
for x in notes:
    print(x)
EOF
    rm -f "$out"
}

echo "forward.sh: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs; model $MODEL"
echo "threads: $THREADS per tool; repetitions: $REPS per tool and configuration, interleaved"
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
    measure "OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE (the environment's own setting)"
    saved=$OPENBLAS_CORETYPE
    unset OPENBLAS_CORETYPE
    measure "OPENBLAS_CORETYPE unset (OpenBLAS detects the core, headscope re-picks it when generic; the environment had $saved)"
    export OPENBLAS_CORETYPE=$saved
else
    measure "OPENBLAS_CORETYPE unset (the environment's own setting: OpenBLAS detects the core, headscope re-picks it when generic)"
    export OPENBLAS_CORETYPE=Haswell
    measure "OPENBLAS_CORETYPE=Haswell (set for both tools; not the environment's)"
    unset OPENBLAS_CORETYPE
fi
