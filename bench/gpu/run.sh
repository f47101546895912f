#!/usr/bin/env bash
# The one-shot GPU run of bench/gpu (bench/gpu/README.md): the card, the CUDA tests, bench_gpu
# cold then warm, PyTorch eager and torch.compile (torch_gpu.py), the Fashion-MNIST MLP epoch,
# and bench/gpu/table.py's merged table. Every step has a time limit (the whole run stays within
# --budget, ~5 minutes); a failing step is recorded and the run goes on. Binaries come prebuilt
# (GPU time is scarce): a bundle unpacked from build/gpu-bundle.tar.xz (scripts/gpu_bundle),
# with bin/ and lib/.
#
#   tar xJf build/gpu-bundle.tar.xz -C /tmp && bash bench/gpu/run.sh --bundle /tmp/gpu-bundle
#
#   --bundle DIR     the unpacked bundle (DIR/bin/bench_gpu, DIR/bin/test_*, ...; DIR/lib)
#   --data DIR       Fashion-MNIST IDX files (the GPU machine has no network); without them the
#                    epoch row is skipped with a note
#   --out DIR        where gpu_table.md, the JSON files and the logs go (default: $OUT when set;
#                    otherwise they stay in the work directory the script prints)
#   --device D       cuda (default), or cpu to try the script on a machine without a GPU
#   --quick          tiny sizes and one epoch (with --device cpu: a smoke test of the script)
#   --skip-tests     run no test binaries
#   --budget S       seconds for the whole run (default 300)
#   --src-alias P    the source directory the test binaries were built in (they read test data
#                    there); when P does not exist, it is made a link to this checkout. Default:
#                    the first line of DIR/source_dir if the bundle has one, else the path found
#                    in the test binaries' strings
#   --dry-run        print the steps instead of running them, then the (empty) table
# Environment: PYTHON (a python3 with torch; default: python3, then /usr/bin/python3),
# T_SMI T_TESTS T_COLD T_WARM T_FM T_TORCH (per-step limits in seconds).
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

usage() { sed -n '2,/^set -u/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit "${1:-0}"; }
die() { echo "run.sh: $*" >&2; exit 2; }

BUNDLE="" DATA="" OUTDIR="${OUT:-}" DEVICE=cuda QUICK=0 SKIP_TESTS=0 BUDGET=300 DRY=0 SRC_ALIAS=""
while (($#)); do
    case $1 in
        --bundle) BUNDLE=${2:?--bundle needs a directory}; shift 2 ;;
        --data) DATA=${2:?--data needs a directory}; shift 2 ;;
        --out) OUTDIR=${2:?--out needs a directory}; shift 2 ;;
        --device) DEVICE=${2:?--device needs cuda or cpu}; shift 2 ;;
        --quick) QUICK=1; shift ;;
        --skip-tests) SKIP_TESTS=1; shift ;;
        --budget) BUDGET=${2:?--budget needs seconds}; shift 2 ;;
        --src-alias) SRC_ALIAS=${2:?--src-alias needs a path}; shift 2 ;;
        --dry-run) DRY=1; shift ;;
        -h | --help) usage 0 ;;
        *) echo "run.sh: unknown option $1" >&2; usage 2 ;;
    esac
done
[[ $DEVICE == cuda || $DEVICE == cpu ]] || die "--device must be cuda or cpu, got '$DEVICE'"
[[ -n $BUNDLE ]] || die "--bundle DIR is required (see --help)"
[[ -d $BUNDLE/bin ]] || die "$BUNDLE/bin is not a directory: unpack build/gpu-bundle.tar.xz first"
BUNDLE=$(cd "$BUNDLE" && pwd)
BIN=$BUNDLE/bin
if [[ -n $DATA ]] && ! DATA=$(cd "$DATA" 2>/dev/null && pwd); then
    echo "run.sh: --data: no such directory: the Fashion-MNIST rows are skipped"
    DATA=/nonexistent
fi
if [[ -n $OUTDIR ]]; then
    mkdir -p "$OUTDIR" || die "cannot make --out $OUTDIR"
    OUTDIR=$(cd "$OUTDIR" && pwd)
fi
cd "$root" || exit 2  # relative paths above were taken from where the script was started

T_SMI=${T_SMI:-15} T_TESTS=${T_TESTS:-90} T_COLD=${T_COLD:-50} T_WARM=${T_WARM:-35}
T_FM=${T_FM:-30} T_TORCH=${T_TORCH:-90}
RESERVE=10  # seconds kept for the table at the end
QUICK_ARG=() EPOCHS=3
if ((QUICK)); then QUICK_ARG=(--quick) EPOCHS=1; fi

WORK=$(mktemp -d /tmp/kiln_gpu_run.XXXXXX)
export LD_LIBRARY_PATH="$BUNDLE/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PYTHONUNBUFFERED=1
start=$(date +%s)
deadline=$((start + BUDGET))
: >"$WORK/steps.tsv"
echo "run.sh: bundle $BUNDLE, device $DEVICE, work directory $WORK, budget ${BUDGET}s"

# A step's one-line summary for the table, from its log.
summary_of() {
    local name=$1 log=$2
    [[ -f $log ]] || return 0
    case $name in
        test_*)
            local s n
            s=$(grep -E '^(All tests passed|test cases:|No tests ran)' "$log" | tail -n 2 |
                tr -s ' ' | paste -sd ';' -)
            n=$(grep -ci 'skipped' "$log")
            s=${s:-no Catch2 summary (see the log)}
            if ((n > 0)); then s="$s; $n lines say SKIPPED"; fi
            echo "$s"
            ;;
        bench_gpu_*) grep -E 'failed:|bench_gpu: cuda' "$log" | head -n 3 | paste -sd ';' - ;;
        torch_gpu) grep -E '^error ' "$log" | head -n 3 | paste -sd ';' - ;;
        fmnist_*) echo "$(grep -cE '^epoch [0-9]+/[0-9]+:' "$log") epochs" ;;
        nvidia_smi) head -n 1 "$log" ;;
    esac
}

record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "${5//$'\t'/ }" >>"$WORK/steps.tsv"; }

# run_step NAME LIMIT CMD...: CMD with a time limit, output to $WORK/NAME.log; records the status.
run_step() {
    local name=$1 limit=$2 log=$WORK/$1.log
    shift 2
    local left=$((deadline - $(date +%s) - RESERVE))
    ((left < limit)) && limit=$left
    if ((limit < 5)); then
        echo "== $name: skipped, out of time"
        record "$name" "skipped" "-" 0 "out of time (budget ${BUDGET}s)"
        return 0
    fi
    if ((DRY)); then
        echo "== $name (limit ${limit}s): $*"
        record "$name" "dry-run" "-" 0 "$*"
        return 0
    fi
    echo "== $name (limit ${limit}s): $*"
    local t0 rc secs status
    t0=$(date +%s.%N)
    timeout -k 10 "$limit" "$@" >"$log" 2>&1
    rc=$?
    secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    case $rc in
        0) status=ok ;;
        124 | 137) status="timeout (${limit}s)" ;;
        *) status="failed (rc $rc)" ;;
    esac
    echo "   $name: $status in ${secs}s"
    ((rc != 0)) && tail -n 6 "$log" | sed 's/^/   | /'
    record "$name" "$status" "$rc" "$secs" "$(summary_of "$name" "$log")"
    return 0
}

# ---- environment: date, card, commit, bundle
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "host: $(nproc) CPUs, $(uname -srm)"
    if commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null); then
        dirty=$(git -C "$root" status --porcelain 2>/dev/null | wc -l)
        echo "Kiln: commit $commit$( ((dirty > 0)) && echo " + $dirty changed files")"
    fi
    echo "bundle: $BUNDLE ($(cd "$BIN" && echo *))"
    if [[ -x $BIN/bench_gpu ]] && missing=$(ldd "$BIN/bench_gpu" 2>/dev/null | grep 'not found'); then
        echo "MISSING LIBRARIES for bench_gpu: $(echo "$missing" | awk '{print $1}' | paste -sd ' ' -)"
    fi
} >"$WORK/env.txt"
cat "$WORK/env.txt"
# Test binaries read committed data through the absolute source path they were built in: find
# it in their strings (or DIR/source_dir, or --src-alias) and, if this machine lacks it, link it.
if [[ -z $SRC_ALIAS && -f $BUNDLE/source_dir ]]; then SRC_ALIAS=$(head -n 1 "$BUNDLE/source_dir"); fi
if [[ -z $SRC_ALIAS ]]; then
    for t in test_optim test_nn test_serialize test_ir; do
        [[ -f $BIN/$t ]] || continue
        p=$(grep -aoE '/[[:alnum:]_.+/-]+/tests/(optim|nn|serialize|ir)/data' "$BIN/$t" | head -n 1)
        if [[ -n $p ]]; then
            SRC_ALIAS=${p%/tests/*/data}
            break
        fi
    done
fi
if [[ -n $SRC_ALIAS && ! -e $SRC_ALIAS ]] && ((!DRY)); then
    if mkdir -p "$(dirname "$SRC_ALIAS")" && ln -s "$root" "$SRC_ALIAS"; then
        echo "source directory of the build: $SRC_ALIAS -> $root (a link made for the tests)" |
            tee -a "$WORK/env.txt"
    fi
fi

PY=""
for p in ${PYTHON:-} python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null 2>&1 && timeout 60 "$p" -c "import torch" >/dev/null 2>&1; then
        PY=$p
        break
    fi
done
[[ -n $PY ]] || echo "run.sh: no python3 with torch: the PyTorch steps are skipped"

# ---- 1. the card
if [[ $DEVICE == cuda ]]; then
    run_step nvidia_smi "$T_SMI" nvidia-smi -L
    if ((!DRY)) && command -v nvidia-smi >/dev/null; then
        timeout 15 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader \
            2>/dev/null | head -n 1 | awk -F', ' '{ printf "%s (driver %s, %s)\n", $1, $2, $3 }' \
                >"$WORK/card.txt"
    fi
else
    grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//; s/$/ (CPU run)/' >"$WORK/card.txt"
fi

# ---- 2. the CUDA tests, in parallel (they compile kernels: CPU work), each with its own cache
if ((SKIP_TESTS)); then
    record tests skipped - 0 "--skip-tests"
else
    pids=()
    for t in test_ops test_autograd test_functional test_nn test_optim test_cuda; do
        if [[ -x $BIN/$t ]]; then
            run_step "$t" "$T_TESTS" env KILN_TEST_DEVICE="$DEVICE" \
                KILN_CACHE_DIR="$WORK/cache_$t" "$BIN/$t" &
            pids+=($!)
        else
            record "$t" "missing" - 0 "not in the bundle"
        fi
    done
    ((${#pids[@]})) && wait "${pids[@]}"
fi

# ---- 3. Kiln: bench_gpu on an empty kernel cache, then again on the disk cache it left
if [[ -x $BIN/bench_gpu ]]; then
    for run in cold warm; do  # the same cache directory: empty for the first, full for the second
        limit=$T_COLD
        [[ $run == warm ]] && limit=$T_WARM
        run_step "bench_gpu_$run" "$limit" env KILN_CACHE_DIR="$WORK/kiln_cache" "$BIN/bench_gpu" \
            --device "$DEVICE" "${QUICK_ARG[@]}" --json "$WORK/kiln_$run.json"
    done
else
    record bench_gpu missing - 0 "no $BIN/bench_gpu"
fi

# ---- 4. PyTorch eager and torch.compile (before the optional Fashion-MNIST rows: if time runs
# short, these are the ones kept)
if [[ -n $PY ]]; then
    run_step torch_gpu "$T_TORCH" "$PY" "$here/torch_gpu.py" --device "$DEVICE" \
        "${QUICK_ARG[@]}" --json "$WORK/torch.json"
else
    record torch_gpu skipped - 0 "no python3 with torch"
fi

# ---- 5. the Fashion-MNIST MLP epoch: Kiln's example, then PyTorch's script
FM=""
for c in kiln_fashion_mnist fashion_mnist; do [[ -x $BIN/$c ]] && FM=$BIN/$c && break; done
have_data() { [[ -n $DATA ]] && compgen -G "$DATA/train-images-idx3-ubyte*" >/dev/null; }
no_data_note() {
    if [[ -z $DATA ]]; then echo "no --data DIR (the GPU machine has no network)"
    else echo "no Fashion-MNIST IDX files in ${DATA}"; fi
}
if [[ -z $FM ]]; then
    record fmnist_kiln missing - 0 "no kiln_fashion_mnist in the bundle"
elif ! have_data; then
    record fmnist_kiln skipped - 0 "$(no_data_note)"
else
    dev_arg=()
    if "$FM" --help 2>&1 | grep -q -- '--device'; then
        dev_arg=(--device "$DEVICE")
    elif [[ $DEVICE == cuda ]]; then
        record fmnist_kiln skipped - 0 "examples/fashion_mnist has no --device option yet"
        FM=""
    fi
    if [[ -n $FM ]]; then
        run_step fmnist_kiln "$T_FM" env KILN_CACHE_DIR="$WORK/fmnist_cache" "$FM" "${dev_arg[@]}" \
            --epochs "$EPOCHS" --quiet --data "$DATA" --save "$WORK/fmnist_mlp.safetensors"
    fi
fi
FT=bench/fashion_mnist_torch.py
if [[ -z $PY ]]; then
    record fmnist_torch skipped - 0 "no python3 with torch"
elif ! have_data; then
    record fmnist_torch skipped - 0 "$(no_data_note)"
elif grep -q -- '"--device"' "$FT"; then
    run_step fmnist_torch "$T_FM" "$PY" "$FT" --device "$DEVICE" --epochs "$EPOCHS" --data "$DATA"
elif [[ $DEVICE == cpu ]]; then
    run_step fmnist_torch "$T_FM" "$PY" "$FT" --epochs "$EPOCHS" --data "$DATA"
else
    record fmnist_torch "not run" - 0 "$FT has no --device option (it trains on the CPU)"
fi

# ---- 6. the table, and everything under --out / $OUT
echo "wall: $(($(date +%s) - start)) s for the steps (budget ${BUDGET}s)" >>"$WORK/env.txt"
echo
python3 "$here/table.py" "$WORK" --out "$WORK/gpu_table.md"
table_rc=$?
{
    for f in "$WORK"/env.txt "$WORK"/steps.tsv "$WORK"/*.log; do
        [[ -f $f ]] || continue
        echo "===== $(basename "$f") ($(wc -l <"$f") lines; the last 400)"
        tail -n 400 "$f"
    done
} >"$WORK/logs.txt"
tar czf "$WORK/logs.tar.gz" -C "$WORK" --exclude='cache_*' --exclude='*_cache' \
    --exclude='*.safetensors' --exclude=logs.tar.gz . 2>/dev/null
if [[ -n $OUTDIR ]]; then
    for f in gpu_table.md kiln_cold.json kiln_warm.json torch.json logs.txt logs.tar.gz; do
        [[ -f $WORK/$f ]] && cp "$WORK/$f" "$OUTDIR/"
    done
    echo "run.sh: table, JSON and logs in $OUTDIR"
fi
echo "run.sh: work directory $WORK"
# Non-zero when a step failed or timed out (skipped and missing steps are noted in the table).
if ((table_rc != 0)) || cut -f2 "$WORK/steps.tsv" | grep -qE '^(failed|timeout)'; then exit 1; fi
exit 0
