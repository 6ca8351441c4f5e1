#!/usr/bin/env python3
"""A blob mirror for the pull tests: serves GET /v2/NAME/blobs/DIGEST from a
berth-registry blob directory (BLOBS/<alg>/<2 hex>/<hex>) and logs each
request path to stderr.
  --tamper        flips one byte of every blob, as a compromised mirror would
  --stall-once N  the first request for a blob larger than N bytes sends
                  half of it and then hangs (a network that stops); logs
                  "stall PATH"
  --no-range      ignores Range headers (sends the whole blob); otherwise
                  "Range: bytes=N-" gets a 206 and the log line ends in
                  " range=N-"

  pull-mirror.py PORT BLOBS [--tamper] [--stall-once N]"""
import http.server
import re
import sys
import threading
import time

PORT, BLOBS = int(sys.argv[1]), sys.argv[2]
TAMPER = "--tamper" in sys.argv[3:]
STALL = int(sys.argv[sys.argv.index("--stall-once") + 1]) if "--stall-once" in sys.argv else None
RANGES = "--no-range" not in sys.argv[3:]
RANGE = re.compile(r"^bytes=(\d+)-$")
PATH = re.compile(r"^/v2/(.+)/blobs/(sha256|sha512):([0-9a-f]+)$")
stalled = []
lock = threading.Lock()


class Mirror(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_HEAD(self):
        self.do_GET(body=False)

    def do_GET(self, body=True):
        r = RANGE.match(self.headers.get("Range", "")) if RANGES else None
        sys.stderr.write("%s %s%s\n" % ("GET" if body else "HEAD", self.path,
                                        " range=%s-" % r.group(1) if r else ""))
        sys.stderr.flush()
        m = PATH.match(self.path)
        try:
            with open("%s/%s/%s/%s" % (BLOBS, m.group(2), m.group(3)[:2], m.group(3)), "rb") as f:
                data = bytearray(f.read())
        except (AttributeError, OSError):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if TAMPER and data:
            data[len(data) // 2] ^= 0xFF
        start = int(r.group(1)) if r else 0
        if r and start >= len(data):
            self.send_response(416)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if r:
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
            data = data[start:]
        else:
            self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not body:
            return
        with lock:
            stall = STALL is not None and len(data) > STALL and not stalled
            if stall:
                stalled.append(1)
        if stall:
            sys.stderr.write("stall %s\n" % self.path)
            sys.stderr.flush()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            time.sleep(3600)
        self.wfile.write(data)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer.daemon_threads = True
http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Mirror).serve_forever()
