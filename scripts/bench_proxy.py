#!/usr/bin/env python3
"""An HTTP proxy for benchmarks: forwards every request to an AWS emulator
on 127.0.0.1, optionally after a fixed delay, and counts requests by
service and operation.

The service is the SigV4 signing name in the Authorization header
(iam, sts, organizations, sso, identitystore), the operation the
X-Amz-Target suffix (JSON protocols) or the Action form field (query
protocols). On SIGTERM or SIGINT the counts are written as JSON to --counts.

moto returns every entity of iam:GetAccountAuthorizationDetails in one
page and ignores MaxItems. AWS returns at most MaxItems entities per page,
so the proxy pages moto's response itself: it requests everything for the
first page, keeps that response until the last page, and returns MaxItems
users, groups, roles and policies at a time, with its own Marker.
--no-page-iam-details turns this off.

The proxy sets TCP_NODELAY on both sides. Without it, each response body
waits for the client's delayed ACK (about 40 ms on Linux), which would add
to every sequential request on top of --latency-ms.

--trace writes one JSON line per request: when it started (seconds since
the proxy started), how long it took, the operation, status and size.

    bench_proxy.py --listen 5701 --upstream 5601 --latency-ms 25 --counts counts.json
"""

import argparse
import http.client
import json
import re
import signal
import socket
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


DETAIL_LISTS = ["UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"]
MEMBER = re.compile(r"<member>|</member>")


def list_bounds(xml, name):
    """Return where the content of the top-level list `name` starts and ends, or None."""
    opening, closing = f"<{name}>", f"</{name}>"
    # The policy list is the last element of the result; the others come first.
    start = xml.rfind(opening) if name == "Policies" else xml.find(opening)
    if start < 0:
        return None
    start += len(opening)
    end = xml.find(closing, start)
    return (start, end) if end >= 0 else None


def top_members(xml, start, end):
    """Return the <member> elements directly inside xml[start:end]."""
    items, depth, item_start = [], 0, 0
    for match in MEMBER.finditer(xml, start, end):
        if match.group() == "<member>":
            if depth == 0:
                item_start = match.start()
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                items.append(xml[item_start:match.end()])
    return items


def detail_entries(xml):
    """Return the users, groups, roles and policies of a complete response, in order."""
    entries = []
    for name in DETAIL_LISTS:
        bounds = list_bounds(xml, name)
        if bounds:
            entries.extend((name, item) for item in top_members(xml, *bounds))
    return entries


def page_details(xml, entries, offset, size):
    """Return one page of a complete GetAccountAuthorizationDetails response."""
    page = entries[offset:offset + size]
    truncated = offset + size < len(entries)
    # Rebuild the lists from the last to the first, so earlier bounds stay valid.
    for name in reversed(DETAIL_LISTS):
        bounds = list_bounds(xml, name)
        if bounds:
            xml = xml[:bounds[0]] + "".join(item for list_name, item in page if list_name == name) + xml[bounds[1]:]
    xml = re.sub(r"<Marker>.*?</Marker>", "", xml)
    tail = f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"
    if truncated:
        tail += f"<Marker>{offset + size}</Marker>"
    return re.sub(r"<IsTruncated>(true|false)</IsTruncated>", tail, xml, count=1)


def make_handler(upstream, latency, counts, lock, local, page_iam_details, trace):
    # Complete GetAccountAuthorizationDetails responses by caller and request,
    # kept from the first page to the last. moto then builds each response
    # once per walk, as AWS does, instead of once per page.
    walks = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Without TCP_NODELAY the body, written after the headers, waits for
        # the client's delayed ACK, about 40 ms per request on Linux.
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def upstream_connection(self):
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=600)
                conn.connect()
                conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                local.conn = conn
            return conn

        def forward(self):
            started = time.monotonic()
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            operation = operation_of(self.headers, body)
            key = f"{service_of(self.headers)}:{operation}"
            with lock:
                counts[key] += 1
            paging = None
            if page_iam_details and operation == "GetAccountAuthorizationDetails":
                fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
                size = int(fields.pop("MaxItems", ["100"])[0])
                offset = int(fields.pop("Marker", ["0"])[0] or 0)
                body = urllib.parse.urlencode([(k, v) for k, values in fields.items() for v in values]).encode()
                paging = (self.headers.get("Authorization", "").split("/", 1)[0], self.path, body), offset, size
            if latency > 0:
                time.sleep(latency)
            walk = None
            if paging and paging[1] > 0:
                with lock:
                    walk = walks.get(paging[0])
            if walk is not None:
                status, reason, response_headers, xml, entries = walk
            else:
                status, reason, response_headers, data = self.upstream_request(body)
                if paging and status == 200:
                    xml = data.decode("utf-8")
                    entries = detail_entries(xml)
                    with lock:
                        walks[paging[0]] = (status, reason, response_headers, xml, entries)
            if paging and status == 200:
                _, offset, size = paging
                data = page_details(xml, entries, offset, size).encode("utf-8")
                if offset + size >= len(entries):
                    with lock:
                        walks.pop(paging[0], None)
            self.send_response(status, reason)
            for k, v in response_headers:
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            if trace is not None:
                line = json.dumps({"start": round(started - trace["t0"], 4), "seconds": round(time.monotonic() - started, 4),
                                   "operation": key, "status": status, "bytes": len(data)})
                with lock:
                    trace["file"].write(line + "\n")

        def upstream_request(self, body):
            """Forward the request with `body` to the emulator and return its status, reason, headers and body."""
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"}
            headers["Content-Length"] = str(len(body))
            for attempt in range(2):
                conn = None
                try:
                    conn = self.upstream_connection()
                    conn.request(self.command, self.path, body=body, headers=headers)
                    response = conn.getresponse()
                    return response.status, response.reason, response.getheaders(), response.read()
                except (http.client.HTTPException, OSError):
                    if conn is not None:
                        conn.close()
                    local.conn = None
                    if attempt == 1:
                        raise

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", type=int, required=True, help="port to listen on (127.0.0.1)")
    parser.add_argument("--upstream", type=int, required=True, help="port of the emulator on 127.0.0.1")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay added before forwarding each request")
    parser.add_argument("--counts", required=True, help="where to write the request counts as JSON on exit")
    parser.add_argument("--no-page-iam-details", action="store_true", help="forward moto's one-page GetAccountAuthorizationDetails response unchanged")
    parser.add_argument("--trace", help="write one JSON line per request (start, seconds, operation, status, bytes) to this file, replacing it")
    args = parser.parse_args()

    counts = Counter()
    lock = threading.Lock()
    trace = {"t0": time.monotonic(), "file": open(args.trace, "w", buffering=1)} if args.trace else None
    handler = make_handler(args.upstream, args.latency_ms / 1000.0, counts, lock, threading.local(), not args.no_page_iam_details, trace)
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
