#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ for a bounded time each and prints a summary.
#
#   scripts/fuzz.sh                 every target, 60 seconds each
#   scripts/fuzz.sh all 300         every target, 300 seconds each
#   scripts/fuzz.sh search_query 120
#   scripts/fuzz.sh --list          the targets
#
# Idempotent: installs cargo-fuzz when it is missing, builds only what changed, and grows the
# corpus in fuzz/corpus/TARGET (not in git) from the seeds in fuzz/seeds/TARGET. A crash, a
# timeout (10 s per input) or running out of memory (2 GiB) stops that target and leaves the
# input in fuzz/artifacts/TARGET/; the script exits 1 when any target failed. Reproduce one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run -s none --codegen-units 16 TARGET fuzz/artifacts/TARGET/crash-…
#
# libFuzzer needs nightly compiler flags; on a stable toolchain RUSTC_BOOTSTRAP=1 unlocks them.
# FUZZ_SANITIZER=address turns AddressSanitizer on (the library is safe Rust, so by default it is
# off: builds and runs are about twice as fast). CARGO_TARGET_DIR is honoured.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS=(page_token search_query taxonomy_toml import_rows analyzer tagger)
target=${1:-all}
seconds=${2:-60}
sanitizer=${FUZZ_SANITIZER:-none}

if [[ $target == --list ]]; then
    printf '%s\n' "${TARGETS[@]}"
    exit 0
fi
if [[ $target == all ]]; then
    selected=("${TARGETS[@]}")
elif [[ " ${TARGETS[*]} " == *" $target "* ]]; then
    selected=("$target")
else
    echo "unknown target $target (one of: all ${TARGETS[*]})" >&2
    exit 2
fi
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds == 0)); then
    echo "seconds must be a positive whole number, not $seconds" >&2
    exit 2
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi
if ! rustc --version | grep -q nightly; then
    export RUSTC_BOOTSTRAP=1
fi

# The same flags for building and running, or `cargo fuzz run` rebuilds.
flags=(--sanitizer "$sanitizer" --codegen-units 16)
if [[ $target == all ]]; then
    cargo fuzz build "${flags[@]}"
else
    cargo fuzz build "${flags[@]}" "$target"
fi

# Per-target libFuzzer options.
extra_args() {
    case $1 in
        search_query) echo "-dict=fuzz/dict/search_query.dict -max_len=2100" ;;
        taxonomy_toml) echo "-dict=fuzz/dict/taxonomy_toml.dict -max_len=8192" ;;
        import_rows) echo "-dict=fuzz/dict/import_rows.dict -max_len=8192" ;;
        *) echo "-max_len=4096" ;;
    esac
}

mkdir -p fuzz/logs
summary=()
failed=0
for t in "${selected[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    log="fuzz/logs/$t.log"
    echo "fuzzing $t for ${seconds}s (log: $log)" >&2
    # shellcheck disable=SC2046
    if cargo fuzz run "${flags[@]}" "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        $(extra_args "$t") >"$log" 2>&1; then
        result=ok
    else
        result="FAILED: $(grep -o 'Test unit written to .*' "$log" | tail -1 | sed 's/Test unit written to //')"
        result=${result%: }
        failed=1
    fi
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
    corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
    summary+=("$(printf '%-14s %6ss %12s execs %6s corpus  %s' "$t" "$seconds" "${execs:-?}" "$corpus" "$result")")
done

echo
printf '%s\n' "${summary[@]}"
exit "$failed"
