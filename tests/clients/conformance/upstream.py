#!/usr/bin/env python3
"""The REST API behind the conformance gateway (gateway.yaml beside this file).

Standard library only. Listens on 127.0.0.1 (port from argv[1], default: any free one) and
prints `listening on PORT` once ready.

  GET /items/{id}              -> {"id", "name", "price"}              (application/json)
  GET /regions/{region}/items  -> {"region", "items": [...]}           (application/json)
  GET /catalog                 -> {"items": N, "regions": [...]}       (application/json)
  GET /progress                -> three NDJSON lines, 50 ms apart      (application/x-ndjson)
  anything else                -> 404 {"error": "..."}
"""

from __future__ import annotations

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

REGIONS = ["eu-west", "us-east", "ap-south"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt: str, *args: object) -> None:  # quiet
        pass

    def _json(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        parts = [unquote(p) for p in urlsplit(self.path).path.split("/") if p]
        if len(parts) == 2 and parts[0] == "items":
            self._json(200, {"id": parts[1], "name": f"Item {parts[1]}", "price": 9.5})
        elif len(parts) == 3 and parts[0] == "regions" and parts[2] == "items":
            self._json(200, {"region": parts[1], "items": [f"{parts[1]}-1", f"{parts[1]}-2"]})
        elif parts == ["catalog"]:
            self._json(200, {"items": 2, "regions": REGIONS})
        elif parts == ["progress"]:
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for step in (1, 2, 3):
                line = json.dumps({"step": step, "of": 3}).encode() + b"\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()
                time.sleep(0.05)
            self.wfile.write(b"0\r\n\r\n")
        else:
            self._json(404, {"error": f"no such resource: {self.path}"})

    def do_POST(self) -> None:  # noqa: N802
        self._json(405, {"error": "read-only fixture"})


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
