#!/usr/bin/env python3
"""A blob mirror for the redirect tests: serves GET /v2/NAME/blobs/DIGEST
from a berth-registry store directory (STORE/<alg>/<2 hex>/<hex>). With
--tamper it flips one byte of every blob, as a compromised mirror would.

  blob-mirror.py PORT STORE [--tamper]"""
import http.server
import re
import sys

PORT, STORE = int(sys.argv[1]), sys.argv[2]
TAMPER = "--tamper" in sys.argv[3:]
PATH = re.compile(r"^/v2/(.+)/blobs/(sha256|sha512):([0-9a-f]+)$")


class Mirror(http.server.BaseHTTPRequestHandler):
    def do_HEAD(self):
        self.do_GET(body=False)

    def do_GET(self, body=True):
        m = PATH.match(self.path)
        try:
            with open("%s/%s/%s/%s" % (STORE, m.group(2), m.group(3)[:2], m.group(3)), "rb") as f:
                data = bytearray(f.read())
        except (AttributeError, OSError):
            self.send_error(404)
            return
        if TAMPER and data:
            data[len(data) // 2] ^= 0xFF
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(bytes(data))

    def log_message(self, fmt, *args):
        sys.stderr.write("mirror: %s\n" % (fmt % args))


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Mirror).serve_forever()
