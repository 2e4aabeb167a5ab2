#!/usr/bin/env bash
# Benchmarks a full organisation sync against moto on 127.0.0.1.
#
# Seeds moto with the reference organisation (times --scale), optionally puts
# scripts/bench_proxy.py in front of it (counts requests per service and
# operation, adds --latency-ms per request), runs baton-aws with
# --global-aws-orgs-enabled --global-aws-sso-enabled under /usr/bin/time -v
# and prints requests, wall and CPU time, peak RSS, c1z size and rows per table.
# The output directory keeps the c1z, the run log (run.log, JSON at the
# level in BENCH_LOG_LEVEL, default info, from which the phase times come),
# the request counts (counts.json) and one line per request (requests.jsonl).
#
# Needs moto_server and boto3 (pip install 'moto[server]==5.2.5'), the seed
# script (--seed-script, default ../shared/testbed/seed_org.py), /usr/bin/time,
# zstd and sqlite3. Build first: cargo build --release -p baton-aws
#
# Examples
#   scripts/bench.sh                                  # seed a fresh moto, sync once
#   scripts/bench.sh --port 5601 --no-seed --latency-ms 25 -- --concurrency 1
#   scripts/bench.sh --scale 3 --keep-moto
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
binary="${BATON_AWS_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/baton-aws}"
seed_script="$root/../shared/testbed/seed_org.py"
port=""
seed=1
scale=1
latency=0
proxy=1
keep_moto=0
out_dir="$(mktemp -d /tmp/baton-bench.XXXXXX)"

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
    echo "Options: --port P (use this moto port), --no-seed, --scale N, --latency-ms MS, --no-proxy,"
    echo "         --keep-moto, --binary PATH, --seed-script PATH, --out DIR; arguments after -- go to baton-aws."
}

while [ $# -gt 0 ]; do
    case "$1" in
        --port) port="$2"; shift 2 ;;
        --no-seed) seed=0; shift ;;
        --scale) scale="$2"; shift 2 ;;
        --latency-ms) latency="$2"; shift 2 ;;
        --no-proxy) proxy=0; shift ;;
        --keep-moto) keep_moto=1; shift ;;
        --binary) binary="$2"; shift 2 ;;
        --seed-script) seed_script="$2"; shift 2 ;;
        --out) out_dir="$2"; mkdir -p "$out_dir"; shift 2 ;;
        --) shift; break ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done
extra_args=("$@")

[ -x "$binary" ] || { echo "bench.sh: no baton-aws binary at $binary; run cargo build --release -p baton-aws" >&2; exit 1; }
newer_source="$(find "$root/crates" "$root/Cargo.toml" "$root/Cargo.lock" -newer "$binary" \( -name '*.rs' -o -name 'Cargo.*' -o -name '*.proto' \) -print -quit 2>/dev/null)"
if [ -n "$newer_source" ]; then
    echo "bench.sh: warning: $binary is older than $newer_source; the results are for an older build. Run cargo build --release -p baton-aws first." >&2
fi
if [ "$proxy" = 0 ] && [ "$latency" != 0 ]; then
    echo "bench.sh: --latency-ms needs the proxy; drop --no-proxy" >&2
    exit 2
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 1 300); do
        python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),1)" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "bench.sh: nothing listens on port $1" >&2
    return 1
}

moto_pid=""
proxy_pid=""
cleanup() {
    if [ -n "$proxy_pid" ]; then kill "$proxy_pid" 2>/dev/null || true; fi
    if [ -n "$moto_pid" ] && [ "$keep_moto" = 0 ]; then kill "$moto_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true

if [ -z "$port" ]; then
    port="$(free_port)"
    moto_server -H 127.0.0.1 -p "$port" >"$out_dir/moto.log" 2>&1 &
    moto_pid=$!
    echo "moto: started on port $port (pid $moto_pid)"
fi
wait_port "$port"

if [ "$seed" = 1 ]; then
    [ -f "$seed_script" ] || { echo "bench.sh: seed script $seed_script not found; pass --seed-script" >&2; exit 1; }
    sizes=(--accounts $((20 * scale)) --iam-users $((2000 * scale)) --iam-groups $((100 * scale)) --roles $((200 * scale))
           --sso-users $((3000 * scale)) --sso-groups $((150 * scale)) --permission-sets $((25 * scale)) --assignments $((1500 * scale)))
    seed_cmd=(python3 "$seed_script" --endpoint "http://127.0.0.1:$port" --reset --seed 7 --workers 2 "${sizes[@]}" --quiet)
    echo "seed: ${seed_cmd[*]}"
    start=$(date +%s)
    "${seed_cmd[@]}"
    echo "seed: done in $(( $(date +%s) - start )) s"
fi

endpoint="http://127.0.0.1:$port"
if [ "$proxy" = 1 ]; then
    proxy_port="$(free_port)"
    python3 "$here/bench_proxy.py" --listen "$proxy_port" --upstream "$port" --latency-ms "$latency" --counts "$out_dir/counts.json" \
        --trace "$out_dir/requests.jsonl" 2>"$out_dir/proxy.log" &
    proxy_pid=$!
    wait_port "$proxy_port"
    endpoint="http://127.0.0.1:$proxy_port"
fi

c1z="$out_dir/sync.c1z"
cmd=("$binary" -f "$c1z" --global-aws-orgs-enabled --global-aws-sso-enabled --log-format json --log-level "${BENCH_LOG_LEVEL:-info}" "${extra_args[@]}")
echo "run: AWS_ENDPOINT_URL=$endpoint ${cmd[*]}"
AWS_ENDPOINT_URL="$endpoint" /usr/bin/time -v "${cmd[@]}" 2>"$out_dir/run.log" || {
    echo "bench.sh: the sync failed; see $out_dir/run.log" >&2
    tail -20 "$out_dir/run.log" >&2
    exit 1
}

if [ -n "$proxy_pid" ]; then
    kill -TERM "$proxy_pid"
    wait "$proxy_pid" 2>/dev/null || true
    proxy_pid=""
    echo
    echo "AWS requests (service:operation):"
    python3 - "$out_dir/counts.json" <<'EOF'
import json, sys
from collections import Counter
counts = json.load(open(sys.argv[1]))
services = Counter()
for key, n in counts.items():
    services[key.split(":")[0]] += n
for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
    print(f"  {n:7d}  {key}")
print("  by service: " + ", ".join(f"{s} {n}" for s, n in sorted(services.items())))
print(f"  total: {sum(counts.values())}")
EOF
fi

echo
echo "Resources used (/usr/bin/time -v):"
grep -E "Elapsed \(wall clock\)|User time|System time|Maximum resident set size" "$out_dir/run.log" | sed 's/^\s*/  /'

echo
echo "Phases (from the info log in run.log):"
python3 - "$out_dir/run.log" <<'EOF'
import json, sys
from datetime import datetime
marks = {}
for line in open(sys.argv[1]):
    if line.startswith("{"):
        entry = json.loads(line)
        stamp = datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00")).timestamp()
        marks.setdefault(entry["message"], stamp)
phases = [("resources and entitlements", "Syncing resource types...", "Syncing grants..."),
          ("grants", "Syncing grants...", "Expanding grants..."),
          ("grant expansion", "Expanding grants...", "Expanded grants"),
          ("end of sync and save", "Expanded grants", "c1z: saved")]
printed_any = False
for name, start, end in phases:
    if start in marks and end in marks:
        print(f"  {name:28s} {marks[end] - marks[start]:6.2f} s")
        printed_any = True
if not printed_any:
    print("  none: run with BENCH_LOG_LEVEL=info (the default) to log them")
EOF

echo
echo "c1z: $(stat -c %s "$c1z") bytes ($c1z)"
db="$out_dir/sync.db"
tail -c +6 "$c1z" | zstd -q -d -o "$db" --force
for table in v1_resource_types v1_resources v1_entitlements v1_grants; do
    printf '  %-18s %8d rows\n' "$table" "$(sqlite3 "$db" "SELECT count(*) FROM $table")"
done
rm -f "$db"
echo "output kept in $out_dir"
