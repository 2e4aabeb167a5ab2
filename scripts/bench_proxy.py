#!/usr/bin/env python3
"""An HTTP proxy for benchmarks: forwards every request to an AWS emulator
on 127.0.0.1, optionally after a fixed delay, and counts requests by
service and operation.

The service is the SigV4 signing name in the Authorization header
(iam, sts, organizations, sso, identitystore), the operation the
X-Amz-Target suffix (JSON protocols) or the Action form field (query
protocols). On SIGTERM or SIGINT the counts are written as JSON to --counts.

    bench_proxy.py --listen 5701 --upstream 5601 --latency-ms 25 --counts counts.json
"""

import argparse
import http.client
import json
import signal
import sys
import threading
import time
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "trailer", "upgrade"}


def service_of(headers):
    auth = headers.get("Authorization", "")
    if "Credential=" not in auth:
        return "unsigned"
    scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split(" ", 1)[0]
    parts = scope.split("/")
    return parts[3] if len(parts) > 3 else "unknown"


def operation_of(headers, body):
    target = headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    return fields.get("Action", ["unknown"])[0]


def make_handler(upstream, latency, counts, lock, local):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def upstream_connection(self):
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=600)
                local.conn = conn
            return conn

        def forward(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            key = f"{service_of(self.headers)}:{operation_of(self.headers, body)}"
            with lock:
                counts[key] += 1
            if latency > 0:
                time.sleep(latency)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            for attempt in range(2):
                conn = self.upstream_connection()
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                    break
                except (http.client.HTTPException, OSError):
                    conn.close()
                    local.conn = None
                    if attempt == 1:
                        raise
            self.send_response(response.status, response.reason)
            for k, v in response.getheaders():
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", type=int, required=True, help="port to listen on (127.0.0.1)")
    parser.add_argument("--upstream", type=int, required=True, help="port of the emulator on 127.0.0.1")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay added before forwarding each request")
    parser.add_argument("--counts", required=True, help="where to write the request counts as JSON on exit")
    args = parser.parse_args()

    counts = Counter()
    lock = threading.Lock()
    handler = make_handler(args.upstream, args.latency_ms / 1000.0, counts, lock, threading.local())
    server = ThreadingHTTPServer(("127.0.0.1", args.listen), handler)
    server.daemon_threads = True

    def stop(*_):
        with lock:
            with open(args.counts, "w") as out:
                json.dump(dict(sorted(counts.items())), out, indent=1)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"proxy on 127.0.0.1:{args.listen} -> 127.0.0.1:{args.upstream}, latency {args.latency_ms} ms", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
