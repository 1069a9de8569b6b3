"""What the tests put between the client and the live API: a pass-through proxy that records every request and can
answer some itself (a 429, a 503, a page that is not an event stream) or cut an event stream short, the faults a
client meets on the way to a real service."""

from __future__ import annotations

import http.client
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, List, Optional, Tuple

# A rule sees (method, path, headers) and returns None to pass the request through, or what to do instead:
# ("answer", status, headers, body) or ("cut_after_stages", n): pass an event stream through, closing it after n stages.
Rule = Callable[[str, str, dict], Optional[tuple]]


class Proxy:
    def __init__(self, upstream: str) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream = (parsed.hostname, parsed.port)
        self.requests: List[Tuple[str, str, dict]] = []
        self.rules: List[Rule] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.0: every answer ends by closing the connection, so a stream is passed through as it comes.
            protocol_version = "HTTP/1.0"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                length = int(headers.get("content-length", "0") or 0)
                body = self.rfile.read(length) if length else None
                proxy.requests.append((self.command, self.path, headers))
                action = next((a for a in (rule(self.command, self.path, headers) for rule in list(proxy.rules)) if a), None)
                if action and action[0] == "answer":
                    _, status, extra, payload = action
                    self.send_response(status)
                    for name, value in extra.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                cut_after = action[1] if action and action[0] == "cut_after_stages" else None
                upstream = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                forwarded = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                upstream.request(self.command, self.path, body=body, headers=forwarded)
                answer = upstream.getresponse()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length", "keep-alive"):
                        self.send_header(name, value)
                self.end_headers()
                stages = 0
                while True:
                    line = answer.readline()
                    if not line:
                        break
                    self.wfile.write(line)
                    self.wfile.flush()
                    if line.startswith(b"event: stage"):
                        stages += 1
                    # The blank line that ends the n-th stage message: the client has it whole, then the stream breaks.
                    if cut_after is not None and stages >= cut_after and line in (b"\n", b"\r\n"):
                        break
                upstream.close()

            do_GET = do_POST = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def seen(self, method: str, path_part: str) -> List[dict]:
        """Headers of the requests so far whose method is ``method`` and whose path contains ``path_part``."""
        return [h for m, p, h in self.requests if m == method and path_part in p]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
