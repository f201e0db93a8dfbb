#!/usr/bin/env bash
# Builds and runs every fuzz target for N seconds each (default 60), one per core at a time
# (each target still gets N seconds of a core of its own).
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# Usage: fuzz/run.sh [seconds]
set -euo pipefail
secs="${1:-60}"
cd "$(dirname "$0")"
targets=$(cargo +nightly fuzz list)
cargo +nightly fuzz build
for t in $targets; do mkdir -p "corpus/$t"; done
# xargs exits non-zero when any target found a crash (libFuzzer names the input it saved).
printf '%s\n' $targets | xargs -P "$(nproc)" -I{} sh -c '
    echo "== fuzzing $1 for $2s"
    exec cargo +nightly fuzz run "$1" "corpus/$1" -- -max_total_time="$2" -max_len=70000 -rss_limit_mb=2048
' fuzz-one {} "$secs"
echo "all fuzz targets ran ${secs}s without a crash"
