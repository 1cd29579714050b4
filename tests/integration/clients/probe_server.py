#!/usr/bin/python3
# An HTTP service that knows nothing of hbmond, for liveness-probe tests:
# every request is answered as the file MODE says at that moment: "ok"
# (200), "500" (500), or "hang" (the server stops answering, for good).
#
#   probe_server.py PORT MODE
import http.server
import sys
import time

MODE = sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(MODE) as f:
            mode = f.read().strip()
        if mode == "hang":
            while True:
                time.sleep(3600)
        self.send_response(500 if mode == "500" else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, fmt, *args):
        pass


http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
