#!/usr/bin/env bash
# Runs each fuzz target for a bounded time (default 60 s each, or the first
# argument), starting from and adding to its corpus in fuzz/corpus/<target>.
# A crash stops the run and leaves the input in fuzz/artifacts/<target>;
# copy it into the corpus so the replay tests (crates/*/tests/fuzz_corpus.rs)
# keep it as a regression test.
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`); the stable toolchain is used
# with RUSTC_BOOTSTRAP=1 for the sanitizer flags. Builds go to
# BATON_FUZZ_TARGET_DIR (default ~/.cache/baton-aws-rs/fuzz-target), outside
# the clone, so a fresh clone does not rebuild them.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
target_dir="${BATON_FUZZ_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/baton-aws-rs/fuzz-target}"
export RUSTC_BOOTSTRAP=1
for target in c1z_reader trust_policy; do
  mkdir -p "corpus/$target"
  echo "fuzz: $target for ${seconds} s"
  cargo fuzz run --target-dir "$target_dir" "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 2>&1 \
    | grep -E "^(#[0-9]+ *DONE|Done|INFO: A corpus|==[0-9]+==|SUMMARY|artifact_prefix|Test unit written)|stat::number_of_executed_units|panicked" || true
  # grep hides libFuzzer's progress lines; the pipeline status is cargo fuzz's.
  [ "${PIPESTATUS[0]}" = 0 ] || { echo "fuzz: $target failed; the crashing input is in fuzz/artifacts/$target" >&2; exit 1; }
done
