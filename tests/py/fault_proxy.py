"""An HTTP proxy in front of the S3 / CloudWatch Logs test server that
injects the faults a real connection has. S3: every Nth object GET answers
503 SlowDown, and every Mth object GET is cut off half-way through its body
(a dropped connection); listings and writes pass through untouched.
CloudWatch Logs (POSTs with an `X-Amz-Target: Logs_…` header): every Nth
call answers 400 ThrottlingException, as AWS does past the quota, and
every Mth a 500.

With a fifth argument K, every Kth FilterLogEvents call that carries a
nextToken is answered with an empty page and the same token (AWS may send
empty pages while a token is present).

Usage: fault_proxy.py <upstream http://host:port> <port file> <slowdown every N> <drop every M> [empty every K]
Writes the port it listens on to <port file>, then serves until killed.
"""
import http.client
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

UPSTREAM = urlsplit(sys.argv[1])
SLOW_EVERY = int(sys.argv[3])
DROP_EVERY = int(sys.argv[4])
EMPTY_EVERY = int(sys.argv[5]) if len(sys.argv) > 5 else 0
filters = 0
lock = threading.Lock()
gets = 0
stats = {"slowdown": 0, "dropped": 0}

THROTTLED = b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
INTERNAL = b'{"__type":"ServiceUnavailableException","message":"internal error"}'

SLOWDOWN = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
            b'<Message>Please reduce your request rate.</Message></Error>')


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def json_error(self, kind, status, error_type, body):
        stats.setdefault(kind, 0)
        self.log_fault(kind)
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("x-amzn-ErrorType", error_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_fault(self, kind):
        stats[kind] = stats.get(kind, 0) + 1
        print(f"{kind} {self.path}", file=sys.stderr, flush=True)

    def forward(self):
        global gets
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        path = self.path
        route = urlsplit(path)
        is_object_get = (self.command == "GET" and "list-type" not in route.query
                         and "delimiter" not in route.query and route.path.strip("/").count("/") >= 1)
        fault = None
        is_logs = self.command == "POST" and (self.headers.get("X-Amz-Target") or "").startswith("Logs_")
        if is_logs:
            with lock:
                gets += 1
                n = gets
            if SLOW_EVERY and n % SLOW_EVERY == 0:
                return self.json_error("throttled", 400, "ThrottlingException", THROTTLED)
            if DROP_EVERY and n % DROP_EVERY == 0:
                return self.json_error("internal", 500, "ServiceUnavailableException", INTERNAL)
            token = None
            if self.headers.get("X-Amz-Target", "").endswith("FilterLogEvents") and body:
                token = json.loads(body).get("nextToken")
            if token and EMPTY_EVERY:
                global filters
                with lock:
                    filters += 1
                    m = filters
                if m % EMPTY_EVERY == 0:
                    page = json.dumps({"events": [], "searchedLogStreams": [], "nextToken": token}).encode()
                    self.log_fault("empty-page")
                    self.send_response(200)
                    self.send_header("Content-Type", "application/x-amz-json-1.1")
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                    return
        if is_object_get:
            with lock:
                gets += 1
                n = gets
            if SLOW_EVERY and n % SLOW_EVERY == 0:
                fault = "slowdown"
            elif DROP_EVERY and n % DROP_EVERY == 0:
                fault = "drop"
        if fault == "slowdown":
            self.log_fault("slowdown")
            self.send_response(503)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(SLOWDOWN)))
            self.end_headers()
            self.wfile.write(SLOWDOWN)
            return
        conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=60)
        headers = {k: v for k, v in self.headers.items()}
        conn.request(self.command, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        if fault == "drop":
            self.log_fault("dropped")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    with open(sys.argv[2], "w") as f:
        f.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
