#!/usr/bin/env bash
# Runs each fuzz target for a bounded time (default 60 s each, or the first
# argument), starting from its corpus in fuzz/corpus/<target>. New inputs the
# fuzzer finds go to a scratch corpus beside the build directory, so a run
# leaves the repository unchanged.
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
log="$(mktemp /tmp/baton-fuzz.XXXXXX)"
trap 'rm -f "$log"' EXIT
for target in c1z_reader trust_policy; do
  scratch="$target_dir/corpus/$target"
  mkdir -p "corpus/$target" "$scratch"
  echo "fuzz: $target for ${seconds} s"
  # libFuzzer writes new inputs to the first corpus directory only.
  if ! cargo fuzz run --target-dir "$target_dir" "$target" "$scratch" "corpus/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "fuzz: $target failed; a crashing input, if one was found, is in fuzz/artifacts/$target" >&2
    exit 1
  fi
  # libFuzzer prints a progress line per new input; show the summary only.
  grep -E "^(#[0-9]+ *DONE|Done [0-9]+ runs)|stat::number_of_executed_units" "$log" || true
done
