#!/usr/bin/env python3
"""A webhook receiver for the integration tests: records every POST it gets and answers a fixed status.

    webhook_recorder.py --listen 127.0.0.1:0 --out FILE [--cert PEM --key PEM] [--status CODE]

It prints `listening on HOST:PORT` on stdout once it accepts connections (the harness waits for that
line), serves plain HTTP or, with --cert/--key, HTTPS, and appends one JSON line per request to FILE:
{"method", "path", "headers": {lower-case name: value}, "body", "client_port"} (the sender's port names
the connection). SIGTERM and SIGINT end it with 0.
"""

import argparse
import json
import signal
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", action="append", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--status", type=int, default=200)
    args = parser.parse_args()

    host, _, port = args.listen[-1].rpartition(":")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            entry = {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", errors="replace"),
                "client_port": self.client_address[1],
            }
            with lock, open(args.out, "a", encoding="utf-8") as out:
                out.write(json.dumps(entry) + "\n")
                out.flush()
            answer = b"ok"
            self.send_response(args.status)
            self.send_header("content-type", "text/plain")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format, *log_args):  # quiet: the test reads FILE
            pass

    server = ThreadingHTTPServer((host, int(port)), Handler)
    server.daemon_threads = True
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)

    def stop(_signum, _frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    bound_host, bound_port = server.server_address[:2]
    print(f"listening on {bound_host}:{bound_port}", flush=True)
    server.serve_forever(poll_interval=0.1)
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
