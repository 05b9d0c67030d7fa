"""A minimal S3 stand-in for one test: it stores objects in memory, answers HEAD/GET/PUT, and
refuses If-None-Match with 501 NotImplemented, as S3-compatible stores without conditional
writes do. GET honours Range ("bytes=FIRST-[LAST]": 206, or 416 from the end on). Keys containing
"flaky" lose their connection halfway through the first download (a 200 of the whole object,
whatever the Range) and honour Range (and If-Match) afterwards; keys containing "norange" do the
same but then ignore Range; keys containing "replaced" are overwritten while their first download
is cut off, so the resume's If-Match fails. Keys containing "ignorerange" always ignore Range;
keys containing "shiftrange" answer a 206 starting one byte after the one asked for. It checks no
signatures (moto does that in the other tests). Prints its port."""
import hashlib
import http.server
import sys
import threading

objects = {}
dropped = set()


def etag(body):
    return '"%s"' % hashlib.md5(body).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        if self.path in objects:
            self._reply(200, b"", {"ETag": etag(objects[self.path]),
                                   "Content-Length": str(len(objects[self.path]))})
        else:
            self._reply(404)

    def do_GET(self):
        body = objects.get(self.path)
        if body is not None and any(k in self.path for k in ("flaky", "norange", "replaced")):
            if self.path not in dropped:
                dropped.add(self.path)
                self.send_response(200)
                self.send_header("ETag", etag(body))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if "replaced" in self.path:
                    objects[self.path] = body + b"new version"
                self.close_connection = True
                try:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(2)  # the transfer breaks mid-body
                except OSError:
                    pass  # a ranged read that had its bytes already hung up
                return
            if self.headers.get("If-Match") not in (None, etag(body)):
                self._reply(412, b"<Error><Code>PreconditionFailed</Code></Error>")
                return
        rng = self.headers.get("Range", "")
        if body is not None and rng.startswith("bytes=") and \
                not any(k in self.path for k in ("norange", "ignorerange")):
            first, _, last = rng[6:].partition("-")
            first = int(first) + (1 if "shiftrange" in self.path else 0)
            last = min(int(last), len(body) - 1) if last else len(body) - 1
            if first >= len(body):
                self._reply(416, b"<Error><Code>InvalidRange</Code></Error>",
                            {"Content-Range": "bytes */%d" % len(body)})
                return
            self._reply(206, body[first:last + 1], {"Content-Range": "bytes %d-%d/%d"
                                                    % (first, last, len(body))})
            return
        if body is not None:
            self._reply(200, body)
        else:
            self._reply(404, b"<Error><Code>NoSuchKey</Code></Error>")

    def do_PUT(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("If-None-Match"):
            self._reply(501, b"<Error><Code>NotImplemented</Code><Message>A header you provided "
                             b"implies functionality that is not implemented</Message></Error>")
            return
        objects[self.path] = body
        self._reply(200, b"", {"ETag": etag(body)})

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()  # runs until the test closes our standard input
