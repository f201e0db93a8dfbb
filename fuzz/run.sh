#!/usr/bin/env bash
# Builds and runs every fuzz target for N seconds each (default 60).
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# Usage: fuzz/run.sh [seconds]
set -euo pipefail
secs="${1:-60}"
cd "$(dirname "$0")"
targets=$(cargo +nightly fuzz list)
cargo +nightly fuzz build
for t in $targets; do
    echo "== fuzzing $t for ${secs}s"
    mkdir -p "corpus/$t"
    cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -max_len=70000 -rss_limit_mb=2048
done
echo "all fuzz targets ran ${secs}s without a crash"
