#!/usr/bin/env bash
# Runs each fuzz target for a bounded time (default 60 s each), then replays
# the saved corpus. Needs cargo-fuzz (`cargo install cargo-fuzz`); the stable
# toolchain is used with RUSTC_BOOTSTRAP=1 for the sanitizer flags.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
export RUSTC_BOOTSTRAP=1
for target in c1z_reader; do
  mkdir -p "corpus/$target"
  cargo fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536
done
