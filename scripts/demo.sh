#!/usr/bin/env bash
# Demo: starts the moto AWS emulator on 127.0.0.1, seeds an invented company
# (IAM, an organisation with two member accounts, Identity Center), syncs it
# with baton-aws, and prints what was found. Output goes to ./demo-output/.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/baton-aws-rs/target}"

scripts/ensure-moto.sh
echo "building baton-aws and c1z (the first build compiles the AWS SDK and takes several minutes)..." >&2
cargo build --locked --quiet -p baton-aws -p c1z-cli
bin="$CARGO_TARGET_DIR/debug"

out="demo-output"
mkdir -p "$out"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$port" >"$out/moto.log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
  sleep 0.2
done
endpoint="http://127.0.0.1:$port"
python3 scripts/demo_seed.py "$endpoint"

export AWS_ENDPOINT_URL="$endpoint" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
rm -f "$out/demo.c1z"
"$bin/baton-aws" -f "$out/demo.c1z" --global-aws-orgs-enabled --global-aws-sso-enabled --sync-secrets \
  --log-format console --log-level error

echo
echo "== What the sync found ($out/demo.c1z) =="
"$bin/c1z" -f "$out/demo.c1z" stats
echo
echo "== Effective access of IAM user ana (who holds what, and through which path) =="
"$bin/c1z" -f "$out/demo.c1z" access "iam_user:arn:aws:iam::123456789012:user/ana"
echo
echo "Next: $bin/c1z -f $out/demo.c1z review --out $out/review   (an XLSX and HTML access review package)"
