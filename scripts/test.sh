#!/usr/bin/env bash
# Runs the whole test suite: unit tests, and integration tests that start
# their own moto servers on 127.0.0.1, then each fuzz target for a short,
# bounded time. Extra arguments go to `cargo test`.
#
# BATON_FUZZ_SECONDS sets the fuzzing time per target (default 20; 0 skips
# fuzzing). Fuzzing needs cargo-fuzz. When it is missing, the script installs
# it from crates.io. If that fails, it prints a warning and skips fuzzing, and
# the tests still replay the fuzz corpora.
set -euo pipefail
cd "$(dirname "$0")/.."
# The same build directory as the demo and CI, so nothing is compiled twice.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/baton-aws-rs/target}"
scripts/ensure-moto.sh
cargo test --workspace --locked "$@"

fuzz_seconds="${BATON_FUZZ_SECONDS:-20}"
if [ "$fuzz_seconds" = 0 ]; then
    echo "fuzz: skipped (BATON_FUZZ_SECONDS=0)"
    exit 0
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: cargo-fuzz is not installed; installing it (cargo install cargo-fuzz --locked)"
    if ! cargo install cargo-fuzz --locked >/dev/null 2>&1; then
        echo "fuzz: WARNING: could not install cargo-fuzz; fuzzing skipped, the corpus replay tests above still ran" >&2
        exit 0
    fi
fi
# The fuzz build has its own target directory (see fuzz/run.sh).
env -u CARGO_TARGET_DIR fuzz/run.sh "$fuzz_seconds"
