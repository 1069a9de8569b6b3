"""Outcome reports: what a call sends, that reporting never changes or holds up a call, and its bound."""

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# A version folder's module: succeeds, raises its own error, and fails once transiently before succeeding.
MODULE = """
from poet_runtime import poet

def divide(a: float, b: float) -> float:
    return a / b

FLAKY = {"left": 1}
def flaky() -> str:
    if FLAKY["left"]:
        FLAKY["left"] -= 1
        raise ConnectionError("blip")
    return "ok"

divide = poet({"timeout": 0, "backoff_base": 0.01})(divide)
flaky = poet({"timeout": 0, "backoff_base": 0.01})(flaky)
"""


class Collector(BaseHTTPRequestHandler):
    """Answers POST /api/v1/outcomes with the server's status; keeps what it received."""

    def do_POST(self):  # noqa: N802 - the http.server hook's name
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.server.received.append({"path": self.path, "key": self.headers.get("x-api-key"), "body": body})
        status = self.server.status
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"accepted": len(body["reports"])} if status == 200 else {}).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def collector():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    server.received, server.status = [], 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run_module(tmp_path, driver, env):
    """Runs `driver` after importing the module from <tmp>/v3/code.py, as a version folder holds it; its JSON stdout."""
    folder = tmp_path / "v3"
    folder.mkdir()
    (folder / "code.py").write_text(MODULE)
    script = (
        "import importlib.util as u, json, sys\n"
        f"sys.path.insert(0, {PACKAGE_PARENT!r})\n"
        "import poet_runtime\n"
        "s = u.spec_from_file_location('enhanced', sys.argv[1]); m = u.module_from_spec(s); s.loader.exec_module(m)\n"
        + driver
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("POET_")}
    done = subprocess.run(
        [sys.executable, "-I", "-c", script, str(folder / "code.py")],
        env={**clean, **env}, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else None


def test_each_call_is_reported_with_its_version_outcome_latency_and_attempts(tmp_path, collector):
    driver = (
        "assert m.divide(6, 3) == 2\n"
        "try:\n    m.divide(1, 0)\nexcept ZeroDivisionError:\n    pass\n"
        "assert m.flaky() == 'ok'\n"
    )
    url = f"http://127.0.0.1:{collector.server_port}"
    run_module(tmp_path, driver, {"POET_REPORT_URL": url, "POET_REPORT_KEY": "poet_000000000001.secret"})
    # The process exited at once: the flush at exit delivered what it queued.
    reports = [r for post in collector.received for r in post["body"]["reports"]]
    assert {post["path"] for post in collector.received} == {"/api/v1/outcomes"}
    assert {post["key"] for post in collector.received} == {"poet_000000000001.secret"}
    assert [(r["function_name"], r["version"], r["success"], r["exception_type"], r["attempts"]) for r in reports] == [
        ("divide", 3, True, None, 1),
        ("divide", 3, False, "ZeroDivisionError", 1),
        ("flaky", 3, True, None, 2),
    ]
    assert all(r["latency_ms"] >= 0 and r["at"] > 1.7e9 for r in reports)
    assert reports[2]["latency_ms"] >= 10  # the backoff between its two attempts


def test_poet_version_names_the_version_wherever_the_module_was_loaded_from(tmp_path, collector):
    url = f"http://127.0.0.1:{collector.server_port}"
    run_module(tmp_path, "m.divide(1, 2)\n", {"POET_REPORT_URL": url, "POET_VERSION": "12"})
    assert [r["version"] for post in collector.received for r in post["body"]["reports"]] == [12]
    assert collector.received[0]["key"] is None


def test_a_service_that_is_away_costs_no_call_and_the_queue_stays_bounded(tmp_path, collector):
    collector.status = 503
    driver = (
        "import json, poet_runtime\n"
        "answers = [m.divide(i, 1) for i in range(50)]\n"
        "poet_runtime.flush_reports(1)\n"
        "print(json.dumps({'answers': answers, 'stats': poet_runtime.report_stats()}))\n"
    )
    url = f"http://127.0.0.1:{collector.server_port}"
    out = run_module(tmp_path, driver, {"POET_REPORT_URL": url, "POET_REPORT_MAX_PENDING": "20"})
    assert out["answers"] == [float(i) for i in range(50)]
    assert out["stats"] == {"enabled": True, "pending": 20, "sent": 0, "dropped": 30, "rejected": 0}
    # Kept, not lost: every attempt sent the same 20 reports again.
    assert {len(post["body"]["reports"]) for post in collector.received} == {20}


def test_unreachable_service_drops_and_counts(tmp_path):
    driver = (
        "import json, poet_runtime\n"
        "[m.divide(i, 1) for i in range(30)]\n"
        "print(json.dumps(poet_runtime.report_stats()))\n"
    )
    # A port nothing listens on.
    out = run_module(tmp_path, driver, {"POET_REPORT_URL": "http://127.0.0.1:9", "POET_REPORT_MAX_PENDING": "10"})
    assert out == {"enabled": True, "pending": 10, "sent": 0, "dropped": 20, "rejected": 0}


def test_a_refused_batch_is_counted_and_not_sent_again(tmp_path, collector):
    collector.status = 403
    driver = (
        "import json, poet_runtime\n"
        "m.divide(1, 1); m.divide(2, 1)\n"
        "poet_runtime.flush_reports(5); poet_runtime.flush_reports(5)\n"
        "print(json.dumps(poet_runtime.report_stats()))\n"
    )
    url = f"http://127.0.0.1:{collector.server_port}"
    out = run_module(tmp_path, driver, {"POET_REPORT_URL": url})
    assert out == {"enabled": True, "pending": 0, "sent": 0, "dropped": 0, "rejected": 2}
    assert len(collector.received) == 1


def test_without_report_url_nothing_is_queued(tmp_path):
    out = run_module(tmp_path, "import json\nm.divide(1, 1)\nprint(json.dumps(poet_runtime.report_stats()))\n", {})
    assert out == {"enabled": False, "pending": 0, "sent": 0, "dropped": 0, "rejected": 0}


def test_a_slow_service_does_not_hold_up_calls(tmp_path, collector):
    # Measured against the call itself, not a wall-clock bound: calls queue while a post hangs on the service.
    collector.status = 200
    original = Collector.do_POST

    def slow(self):
        time.sleep(1.5)
        original(self)

    Collector.do_POST = slow
    try:
        driver = (
            "import json, time, poet_runtime\n"
            "m.divide(1, 1)\n"
            "poet_runtime._report_sink().wake.set()\n"
            "time.sleep(0.2)\n"
            "before = poet_runtime.report_stats()['pending']\n"
            "[m.divide(i, 1) for i in range(5)]\n"
            "print(json.dumps({'pending_during_post': poet_runtime.report_stats()['pending'] - before}))\n"
        )
        out = run_module(tmp_path, driver, {"POET_REPORT_URL": f"http://127.0.0.1:{collector.server_port}"})
    finally:
        Collector.do_POST = original
    assert out == {"pending_during_post": 5}


def test_a_forked_child_reports_its_own_calls_and_never_the_parents_again(tmp_path, collector):
    driver = (
        "import os, poet_runtime\n"
        "m.divide(1, 1)\n"
        "child = os.fork()\n"
        "if child == 0:\n"
        "    m.divide(2, 1); m.divide(3, 1)\n"
        "    poet_runtime.flush_reports(5)\n"
        "    os._exit(0)\n"
        "os.waitpid(child, 0)\n"
    )
    url = f"http://127.0.0.1:{collector.server_port}"
    # A long interval: nothing is sent before the fork, so the parent's report is still queued when it happens.
    run_module(tmp_path, driver, {"POET_REPORT_URL": url, "POET_REPORT_INTERVAL_S": "60"})
    # One report per call: the parent's one (sent at its exit) and the child's two; without the reset, the child sends the parent's again.
    assert [r["function_name"] for post in collector.received for r in post["body"]["reports"]] == ["divide"] * 3
