#!/usr/bin/env bash
# Runs the whole test suite: unit tests, and integration tests that start
# their own moto servers on 127.0.0.1. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
# The same build directory as the demo and CI, so nothing is compiled twice.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/baton-aws-rs/target}"
scripts/ensure-moto.sh
cargo test --workspace --locked "$@"
