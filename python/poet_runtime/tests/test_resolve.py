"""Version resolution: the runtime asks the service which version a unit runs and reads that version's params.

The server here answers as the API's routes do (GET /api/v1/functions/{name}/resolve and the version it names, with
the API's error body); test/api/outcomes.test.ts runs resolve_version against the live API.
"""

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import poet_runtime
from poet_runtime import PoetResolveError, poet, resolve_version

PARAMS = {"domain": "computation", "retries": 2, "timeout": 0, "retry_on": ["ConnectionError"]}
KEY = "poet_0123456789ab.secret"


class Service(BaseHTTPRequestHandler):
    """Function `ratio` with version 3 in a rollout: units whose name starts with "canary" get it, others version 2."""

    def do_GET(self):  # noqa: N802 - the http.server hook's name
        self.server.seen.append({"path": self.path, "key": self.headers.get("x-api-key")})
        if self.headers.get("x-api-key") != KEY:
            return self.answer(401, {"error": {"code": "unauthorized", "message": "missing or invalid API key"}})
        parts = urllib.parse.urlsplit(self.path)
        segments = parts.path.split("/")
        name = urllib.parse.unquote(segments[4]) if len(segments) > 4 else ""
        if name != "ratio":
            return self.answer(404, {"error": {"code": "function_not_found", "message": f"function {name} not found"}})
        if segments[5:] == ["resolve"]:
            unit = urllib.parse.parse_qs(parts.query)["unit"][0]
            version = 3 if unit.startswith("canary") else 2
            base = f"/api/v1/functions/{name}/versions/{version}"
            return self.answer(200, {
                "function_name": name, "unit": unit, "version": version, "bucket": 1234 if version == 3 else 8765,
                "reason": "rollout" if version == 3 else "active",
                "urls": {"version": base, "python": f"{base}/code/python", "dana": f"{base}/code/dana"},
            })
        if segments[5] == "versions" and len(segments) == 7:
            version = int(segments[6])
            return self.answer(200, {
                "function_name": name, "version": version, "status": "active", "created_at": "2026-12-05T00:00:00.000Z",
                "code": {"python": "...", "dana": "..."}, "params": {**PARAMS, "retries": version},
                "metadata": {}, "storage": "filesystem", "metrics": {},
            })
        return self.answer(404, {"error": {"code": "not_found", "message": self.path}})

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def service():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Service)
    server.seen = []
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_unit_in_the_rollout_gets_the_candidate_and_its_params(service):
    answer = resolve_version("ratio", "canary user/7", url=service.url + "/", key=KEY)
    assert answer == {
        "function_name": "ratio", "unit": "canary user/7", "version": 3, "reason": "rollout", "bucket": 1234,
        "params": {**PARAMS, "retries": 3},
    }
    # The unit travels percent-encoded; the version is read from the URL the resolution names; both carry the key.
    assert [s["path"] for s in service.seen] == [
        "/api/v1/functions/ratio/resolve?unit=canary+user%2F7",
        "/api/v1/functions/ratio/versions/3",
    ]
    assert {s["key"] for s in service.seen} == {KEY}


def test_the_params_wrap_a_function_as_the_version_does(service):
    answer = resolve_version("ratio", "user-1", url=service.url, key=KEY)
    assert (answer["version"], answer["reason"]) == (2, "active")
    calls = []

    def ratio(a: float, b: float) -> float:
        calls.append((a, b))
        if len(calls) == 1:
            raise ConnectionError("blip")
        return a / b

    wrapped = poet({**answer["params"], "backoff_base": 0})(ratio)
    assert wrapped(6, 3) == 2
    assert len(calls) == 2


def test_url_and_key_default_to_the_environment(service, monkeypatch):
    monkeypatch.setenv("POET_REPORT_URL", service.url)
    monkeypatch.setenv("POET_RESOLVE_KEY", KEY)
    assert resolve_version("ratio", "canary-2")["version"] == 3
    monkeypatch.delenv("POET_REPORT_URL")
    with pytest.raises(ValueError, match="POET_REPORT_URL"):
        resolve_version("ratio", "canary-2")


def test_refusals_carry_the_status_and_the_api_code(service):
    with pytest.raises(PoetResolveError) as missing:
        resolve_version("absent", "u", url=service.url, key=KEY)
    assert (missing.value.status, missing.value.code) == (404, "function_not_found")
    with pytest.raises(PoetResolveError) as refused:
        resolve_version("ratio", "u", url=service.url, key="poet_wrong")
    assert (refused.value.status, refused.value.code) == (401, "unauthorized")
    assert "missing or invalid API key" in str(refused.value)


def test_an_unreachable_service_is_an_error_not_a_hang(service):
    url = service.url
    service.shutdown()
    service.server_close()
    with pytest.raises(PoetResolveError) as away:
        resolve_version("ratio", "u", url=url, key=KEY, timeout_s=2)
    assert (away.value.status, away.value.code) == (None, "unreachable")


def test_the_package_exports_it():
    assert {"resolve_version", "PoetResolveError"} <= set(poet_runtime.__all__)
