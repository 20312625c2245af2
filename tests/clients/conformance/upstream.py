#!/usr/bin/env python3
"""The REST API behind the conformance gateway (gateway.yaml beside this file).

Standard library only. Listens on 127.0.0.1 (port from argv[1], default: any free one) and
prints `listening on PORT` once ready.

  GET /items/{id}              -> {"id", "name", "price"}              (application/json)
  GET /regions/{region}/items  -> {"region", "items": [...]}           (application/json)
  GET /catalog                 -> {"items": N, "regions": [...]}       (application/json)
  GET /progress                -> three NDJSON lines, 50 ms apart      (application/x-ndjson)
  GET /greetings/{name}        -> {"greeting": "Hello, {name}!"}
  POST /jobs {"seconds", "label", "fail"}
                               -> 202 {"id", "state": "running"}, Location: /jobs/{id}
  GET /jobs/{id}               -> {"id", "state", "percent", "result"?, "error"?}: running until
                                  `seconds` have passed, then succeeded (or failed with `fail`)
  DELETE /jobs/{id}            -> the job is cancelled (a job already over keeps its ending)
  anything else                -> 404 {"error": "..."}
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

REGIONS = ["eu-west", "us-east", "ap-south"]
JOBS: dict[str, dict] = {}
JOB_IDS = itertools.count(1)
JOBS_LOCK = threading.Lock()


def job_view(job: dict) -> dict:
    """A job's status now (its state moves on with the clock)."""
    elapsed = time.monotonic() - job["started"]
    if job["state"] == "running" and elapsed >= job["seconds"]:
        job["state"] = "failed" if job["fail"] else "succeeded"
    view = {"id": job["id"], "state": job["state"], "label": job["label"]}
    if job["state"] == "running":
        view["percent"] = min(99, int(100 * elapsed / job["seconds"])) if job["seconds"] else 0
    elif job["state"] == "succeeded":
        view["percent"] = 100
        view["result"] = {"label": job["label"], "seconds": job["seconds"], "answer": 42}
    elif job["state"] == "failed":
        view["error"] = f"job {job['id']} failed: the computation diverged"
    return view


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
        elif len(parts) == 2 and parts[0] == "greetings":
            self._json(200, {"greeting": f"Hello, {parts[1]}!"})
        elif len(parts) == 2 and parts[0] == "jobs" and parts[1] in JOBS:
            with JOBS_LOCK:
                self._json(200, job_view(JOBS[parts[1]]))
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
        length = int(self.headers.get("Content-Length") or 0)
        if urlsplit(self.path).path != "/jobs":
            self._json(405, {"error": "read-only fixture"})
            return
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
            seconds = float(body.get("seconds") or 0)
        except (ValueError, TypeError, AttributeError):
            self._json(400, {"error": "body must be {\"seconds\": number, ...}"})
            return
        with JOBS_LOCK:
            job_id = f"job-{next(JOB_IDS)}"
            JOBS[job_id] = {"id": job_id, "state": "running", "started": time.monotonic(),
                            "seconds": max(0.0, seconds), "label": str(body.get("label") or ""),
                            "fail": bool(body.get("fail"))}
        data = json.dumps({"id": job_id, "state": "running"}).encode()
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.send_header("Location", f"/jobs/{job_id}")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_DELETE(self) -> None:  # noqa: N802
        parts = [p for p in urlsplit(self.path).path.split("/") if p]
        if len(parts) != 2 or parts[0] != "jobs" or parts[1] not in JOBS:
            self._json(404, {"error": f"no such job: {self.path}"})
            return
        with JOBS_LOCK:
            job = JOBS[parts[1]]
            if job_view(job)["state"] == "running":
                job["state"] = "cancelled"
            self._json(200, job_view(job))


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
