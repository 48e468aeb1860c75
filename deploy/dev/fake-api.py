#!/usr/bin/env python3
"""A stand-in API server on 127.0.0.1 for measuring the agent by hand (BENCHMARKS.md, deployment
footprint): answers /configz, the pod list (empty) and Event POSTs. Usage: fake-api.py PORT"""
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def reply(self, obj, code=200):
        b = json.dumps(obj).encode()
        self.send_response(code); self.send_header("Content-Type","application/json"); self.send_header("Content-Length",str(len(b))); self.end_headers(); self.wfile.write(b)
    def do_GET(self):
        if "configz" in self.path:
            self.reply({"kubeletconfig": {"evictionHard": {"memory.available": "100Mi"}}})
        else:
            self.reply({"kind":"PodList","apiVersion":"v1","items":[]})
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0)); self.rfile.read(n)
        self.reply({"kind":"Event"}, 201)
if __name__ == "__main__":
    http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
