# shellcheck shell=bash
# Shared helpers for scripts/test and scripts/demo. Source it; it defines functions and
# KILN_ROOT (the repository root, found from this file's location, so the scripts work from any
# directory) and changes nothing else.

KILN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Parallel jobs for builds and ctest: $KILN_JOBS, else the number of CPUs.
kiln_jobs() {
    echo "${KILN_JOBS:-$(nproc 2>/dev/null || echo 2)}"
}

# Prints a duration in seconds as "1m23s" (or "45s").
kiln_fmt_duration() {
    local s=$1
    if ((s >= 60)); then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}

# kiln_configure BUILD_DIR BUILD_TYPE [extra cmake args...]
# Configures the repository with Ninja into BUILD_DIR (an existing tree is reconfigured in place).
kiln_configure() {
    local dir=$1 type=$2
    shift 2
    cmake -S "$KILN_ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" "$@"
}

# kiln_build BUILD_DIR [targets...]   (all targets when none are given)
kiln_build() {
    local dir=$1
    shift
    local targets=()
    (($#)) && targets=(--target "$@")
    cmake --build "$dir" -j "$(kiln_jobs)" "${targets[@]}"
}
