"""poet_client against the live service: test/clients/python-client.test.ts starts the real API and worker (Temporal,
PostgreSQL, Redis, an OpenAI-compatible model that takes 1.5 s) and runs these with:

  POET_URL, POET_API_KEY       the API and an admin key
  POET_VIEWER_KEY              a key of the viewer role
  POET_LIMITED_KEY             an agent key no other test uses; POET_ENHANCE_LIMIT enhance calls a minute per key
  the service's wait budget is 1 s: a miss outlasts it (202, then the run), a cache hit answers at once (200)
"""

from __future__ import annotations

import email.utils
import json
import os
import sys
import time
import unittest
import urllib.request
import uuid
from typing import List

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from poet_client import (  # noqa: E402
    Client,
    Conflict,
    EnhanceResult,
    FeedbackResult,
    Forbidden,
    InvalidRequest,
    NotFound,
    RateLimited,
    Resolution,
    Rollout,
    RolloutStarted,
    Run,
    RunFailed,
    Unauthorized,
    Unprocessable,
    VersionOutcomes,
)
from support import Proxy  # noqa: E402

URL = os.environ["POET_URL"]
KEY = os.environ["POET_API_KEY"]


def code_of(name: str, body: str = "return a * 2 + b") -> str:
    return f"def {name}(a: int, b: int) -> int:\n    {body}\n"


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


class RecordingClient(Client):
    """Records the waits the client asks for instead of only sleeping them: what Retry-After made it do."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sleeps: List[float] = []

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        super()._sleep(seconds)


class ProxyTest(unittest.TestCase):
    def setUp(self) -> None:
        self.proxy = Proxy(URL)
        self.addCleanup(self.proxy.close)


class EnhanceTest(ProxyTest):
    def test_wait_follows_the_run_past_the_wait_budget_then_a_hit_answers_at_once(self) -> None:
        poet = Client(self.proxy.url, KEY)
        name = unique("ratio")
        result = poet.enhance(code_of(name))
        self.assertIsInstance(result, EnhanceResult)
        self.assertEqual((result.function_name, result.version, result.metadata.cache), (name, 1, "miss"))
        self.assertIn(f"def {name}(a: int, b: int)", result.python)
        self.assertTrue(result.run.workflow_id.startswith(f"enhance-{name}-"))
        # The miss outlasted the 1 s budget: the client went on with the run's events and status.
        self.assertTrue(self.proxy.seen("GET", f"/api/v1/runs/{result.run.workflow_id}"))

        self.proxy.requests.clear()
        again = poet.enhance(code_of(name))
        self.assertEqual((again.version, again.metadata.cache), (1, "hit"))
        self.assertEqual(again.python, result.python)
        self.assertEqual([m for m, _, _ in self.proxy.requests], ["POST"])

    def test_without_wait_a_run_whose_stages_stream_then_its_result(self) -> None:
        poet = Client(URL, KEY)
        name = unique("scaled")
        run = poet.enhance(code_of(name), function_name=name, domain="computation", wait=False)
        self.assertIsInstance(run, Run)
        stages = list(run.watch(timeout=60))
        names = [s.stage for s in stages]
        self.assertEqual(names[0], "queued")
        self.assertEqual(names[-1], "completed")
        for stage in ("cache", "generate", "validate", "store", "publish"):
            self.assertIn(stage, names)
        self.assertTrue(all(s.at for s in stages))
        self.assertEqual(run.final_status, "completed")
        result = run.result()
        self.assertEqual((result.function_name, result.version, result.metadata.domain), (name, 1, "computation"))
        self.assertEqual(result.run.workflow_id, run.id)

    def test_the_function_name_defaults_to_the_one_function_of_the_code(self) -> None:
        poet = Client(URL, KEY)
        with self.assertRaisesRegex(ValueError, "2 top-level functions"):
            poet.enhance(code_of("first") + code_of("second"))


class ErrorsTest(unittest.TestCase):
    def test_refusals_raise_exceptions_that_carry_the_api_code(self) -> None:
        poet = Client(URL, KEY)
        with self.assertRaises(Unprocessable) as invalid:
            poet.enhance("def broken(:\n    pass\n", function_name="broken")
        self.assertEqual((invalid.exception.code, invalid.exception.status), ("invalid_python", 422))
        self.assertEqual(invalid.exception.details[0]["path"], "original_code")
        self.assertEqual((invalid.exception.category, invalid.exception.severity), ("input", "info"))

        with self.assertRaises(Unprocessable) as missing:
            poet.enhance(code_of("present"), function_name="absent")
        self.assertEqual(missing.exception.code, "function_not_found")

        with self.assertRaises(InvalidRequest) as domain:
            poet.enhance(code_of(unique("dom")), domain="no_such_domain")
        self.assertEqual((domain.exception.code, domain.exception.status), ("unknown_domain", 400))

        with self.assertRaises(NotFound) as unknown:
            poet.versions(unique("never_enhanced"))
        self.assertEqual(unknown.exception.code, "function_not_found")

        with self.assertRaises(NotFound) as no_run:
            poet.run("enhance-nothing-000000000000").status()
        self.assertEqual(no_run.exception.code, "run_not_found")

    def test_credentials_and_roles(self) -> None:
        with self.assertRaises(Unauthorized) as bad_key:
            Client(URL, "poet_000000000000.wrong").versions("anything")
        self.assertEqual(bad_key.exception.status, 401)
        with self.assertRaises(Forbidden) as viewer:
            Client(URL, os.environ["POET_VIEWER_KEY"]).enhance(code_of(unique("ro")))
        self.assertEqual(viewer.exception.status, 403)


class FeedbackAndVersionsTest(unittest.TestCase):
    def test_error_feedback_makes_version_two_then_versions_version_and_diff_read_it(self) -> None:
        poet = Client(URL, KEY)
        name = unique("flaky")
        first = poet.enhance(code_of(name))
        execution = uuid.uuid4().hex
        outcome = poet.feedback(name, first.version, "error", execution_id=execution, rating=1, comments="TimeoutError under load", metrics={"error_rate": 0.4})
        self.assertIsInstance(outcome, FeedbackResult)
        self.assertEqual((outcome.status, outcome.version, outcome.new_version), ("requires_update", 1, 2))

        again = poet.feedback(name, first.version, "error", execution_id=execution, rating=1)
        self.assertEqual((again.status, again.duplicate), ("accepted", True))

        listed = poet.versions(name)
        self.assertEqual(listed.current_version, 2)
        self.assertEqual({v.version: v.status for v in listed.versions}, {1: "deprecated", 2: "active"})
        self.assertEqual(listed.versions[0].metrics.feedback_count + listed.versions[1].metrics.feedback_count, 1)

        second = poet.version(name, 2)
        self.assertEqual((second.function_name, second.version, second.status), (name, 2, "active"))
        self.assertIn(f"def {name}(", second.python)

        diff = poet.diff(name, 1, 2)
        self.assertEqual((diff.from_version, diff.to_version), (1, 2))
        # Train learned from the error: the parameters changed between the versions.
        self.assertTrue(any(line.startswith("+") and not line.startswith("+++") for line in diff.params.splitlines()), diff.params)

    def test_feedback_examples_bind_later_versions_and_the_runtime_downloads(self) -> None:
        poet = Client(URL, KEY)
        name = unique("sums")
        first = poet.enhance(code_of(name, "return a + b"), evidence_budget_s=0.5)
        self.assertEqual(first.metadata.validation["inputs"]["feedback"], 0)
        runtime = poet.runtime(name, first.version)
        self.assertIn(f'__version__ = "{first.metadata.runtime_version}"', runtime)

        passed = poet.feedback(name, first.version, "error", comments="wrong", examples=[{"args": [1, 2], "expected": 3}])
        self.assertEqual((passed.status, passed.new_version), ("requires_update", 2))
        self.assertEqual(poet.version(name, 2).metadata["validation"]["inputs"]["feedback"], 1)
        # The regeneration outlasts the 1 s wait budget: the client follows its run, which fails.
        with self.assertRaises(RunFailed) as refused:
            poet.feedback(name, 2, "error", examples=[{"args": [2, 2], "raises": {"type": "ValueError"}}])
        self.assertEqual(refused.exception.code, "validation_failed")
        self.assertIn("feedback example 1", refused.exception.message)
        with self.assertRaises(InvalidRequest) as bad:
            poet.feedback(name, 2, "user", examples=[{"args": [1], "expected": 1, "raises": {"type": "E"}}])
        self.assertEqual(bad.exception.details[0]["path"], "examples.0")

    def test_resolve_answers_the_active_version_the_same_for_a_unit_every_time(self) -> None:
        poet = Client(URL, KEY)
        name = unique("resolved")
        poet.enhance(code_of(name))
        first = poet.resolve(name, "user 42/eu")
        self.assertIsInstance(first, Resolution)
        self.assertEqual((first.function_name, first.unit, first.version, first.reason), (name, "user 42/eu", 1, "active"))
        self.assertEqual(first.urls["python"], f"/api/v1/functions/{name}/versions/1/code/python")
        self.assertTrue(0 <= first.bucket < 10000)
        self.assertEqual(poet.resolve(name, "user 42/eu"), first)
        with self.assertRaises(NotFound) as missing:
            poet.resolve(unique("absent"), "u")
        self.assertEqual(missing.exception.code, "function_not_found")

    def test_feedback_without_wait_returns_the_regeneration_run(self) -> None:
        poet = Client(URL, KEY)
        name = unique("later")
        first = poet.enhance(code_of(name))
        run = poet.feedback(name, first.version, "error", rating=1, wait=False)
        self.assertIsInstance(run, Run)
        self.assertTrue(run.id.startswith(f"regenerate-{name}-v1-"))
        outcome = run.result(timeout=60)
        self.assertEqual((outcome.status, outcome.new_version), ("requires_update", 2))


def post(path: str, body: dict) -> dict:
    """A POST the client has no method for: activation, and the outcome reports the runtime sends where it runs."""
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    request = urllib.request.Request(URL + path, data=json.dumps(body).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


class RolloutTest(unittest.TestCase):
    def two_versions(self, prefix: str) -> str:
        """A function with versions 1 (active, the baseline) and 2 (the candidate)."""
        poet = Client(URL, KEY)
        name = unique(prefix)
        poet.enhance(code_of(name))
        self.assertEqual(poet.enhance(code_of(name, "return a * 3 + b")).version, 2)
        post(f"/api/v1/functions/{name}/versions/1/activate", {})
        return name

    def test_start_pause_resume_and_promote_a_rollout_and_read_both_versions_outcomes(self) -> None:
        poet = Client(URL, KEY)
        name = self.two_versions("rolled")
        with self.assertRaises(NotFound) as none_yet:
            poet.rollout(name)
        self.assertEqual(none_yet.exception.code, "rollout_not_found")
        # No judgement within the test: an hour between steps.
        started = poet.start_rollout(name, 2, steps=[10, 100], min_calls=5, step_wait=3600)
        self.assertIsInstance(started, RolloutStarted)
        self.assertEqual((started.candidate_version, started.baseline_version), (2, 1))
        with self.assertRaises(Conflict) as twice:
            poet.start_rollout(name, 2)
        self.assertEqual(twice.exception.code, "rollout_running")
        deadline = time.monotonic() + 30
        while poet.rollout(name).share_percent != 10 and time.monotonic() < deadline:
            time.sleep(0.1)
        current = poet.rollout(name)
        self.assertIsInstance(current, Rollout)
        self.assertEqual((current.status, current.share_percent, current.steps, current.step_index), ("running", 10, [10, 100], 0))
        self.assertEqual(current.workflow_id, started.run.workflow_id)
        with self.assertRaises(Forbidden):
            Client(URL, os.environ["POET_VIEWER_KEY"]).pause_rollout(name)
        self.assertEqual(poet.pause_rollout(name).status, "paused")
        self.assertEqual(poet.rollout(name).status, "paused")
        self.assertEqual(poet.resume_rollout(name).status, "running")
        promoted = poet.promote_rollout(name)
        self.assertEqual((promoted.status, promoted.share_percent), ("promoted", 100))
        self.assertEqual(poet.versions(name).current_version, 2)
        with self.assertRaises(Conflict) as ended:
            poet.abort_rollout(name)
        self.assertEqual(ended.exception.code, "rollout_ended")

        reports = [
            {"function_name": name, "version": 2, "success": True, "latency_ms": 8, "attempts": 1},
            {"function_name": name, "version": 2, "success": True, "latency_ms": 8, "attempts": 1},
            {"function_name": name, "version": 2, "success": False, "exception_type": "KeyError", "latency_ms": 8, "attempts": 2},
        ]
        self.assertEqual(post("/api/v1/outcomes", {"reports": reports})["accepted"], 3)
        field = poet.outcomes(name, 2, window="1h")
        self.assertIsInstance(field, VersionOutcomes)
        self.assertEqual((field.version, field.window, field.calls, field.successes), (2, "1h", 3, 2))
        self.assertAlmostEqual(field.success_rate, 2 / 3, places=5)
        self.assertEqual(field.errors, [{"exception_type": "KeyError", "count": 1}])
        self.assertIsNotNone(field.latency_ms["p95"])
        quiet = poet.outcomes(name, 1)
        self.assertEqual((quiet.calls, quiet.success_rate, quiet.latency_ms["p50"]), (0, None, None))

    def test_abort_keeps_the_active_version_and_refusals_carry_their_codes(self) -> None:
        poet = Client(URL, KEY)
        name = self.two_versions("aborted")
        with self.assertRaises(InvalidRequest) as bad_steps:
            poet.start_rollout(name, 2, steps=[50, 10])
        self.assertEqual(bad_steps.exception.details[0]["path"], "steps")
        with self.assertRaises(Conflict) as active:
            poet.start_rollout(name, 1)
        self.assertEqual(active.exception.code, "candidate_is_active")
        poet.start_rollout(name, 2, step_wait=3600)
        aborted = poet.abort_rollout(name)
        self.assertEqual((aborted.status, aborted.share_percent), ("aborted", 0))
        self.assertEqual(poet.versions(name).current_version, 1)
        self.assertEqual(poet.resolve(name, "anyone").version, 1)
        with self.assertRaises(NotFound) as missing:
            poet.start_rollout(unique("absent"), 2)
        self.assertEqual(missing.exception.code, "function_not_found")


class RetryTest(ProxyTest):
    def test_429_and_503_are_retried_after_their_retry_after(self) -> None:
        answered = []

        def refuse_twice(method: str, path: str, headers: dict):
            if method != "POST" or len(answered) >= 2:
                return None
            answered.append(path)
            if len(answered) == 1:
                body = json.dumps({"error": {"code": "rate_limited", "message": "slow down"}}).encode()
                return ("answer", 429, {"Retry-After": "2", "Content-Type": "application/json"}, body)
            # An HTTP date 4 s ahead: honoured as the seconds until then.
            body = json.dumps({"error": {"code": "service_unavailable", "message": "busy"}}).encode()
            return ("answer", 503, {"Retry-After": email.utils.formatdate(time.time() + 4, usegmt=True), "Content-Type": "application/json"}, body)

        self.proxy.rules.append(refuse_twice)
        poet = RecordingClient(self.proxy.url, KEY, max_retry_wait=10)
        result = poet.enhance(code_of(unique("patient")))
        self.assertEqual(result.version, 1)
        self.assertEqual(len(self.proxy.seen("POST", "/api/v1/functions/enhance")), 3)
        # Not the client's own backoff (1 s, then 2 s) but what the answers asked for.
        self.assertEqual(poet.sleeps[0], 2.0)
        # An HTTP date has one-second resolution: 4 s ahead reads as 3 to 4 s.
        self.assertTrue(3.0 <= poet.sleeps[1] <= 4.0, poet.sleeps)

    def test_the_real_rate_limit_past_the_retry_budget_raises_rate_limited_without_waiting(self) -> None:
        key = os.environ["POET_LIMITED_KEY"]
        # Requests refused for their body still count against the key's enhance budget.
        for _ in range(int(os.environ["POET_ENHANCE_LIMIT"])):
            with self.assertRaises(InvalidRequest):
                Client(URL, key).enhance(code_of("spend"), domain="NOT VALID")
        poet = RecordingClient(URL, key, max_retry_wait=5)
        with self.assertRaises(RateLimited) as limited:
            poet.enhance(code_of(unique("over")))
        self.assertEqual((limited.exception.code, limited.exception.status), ("rate_limited", 429))
        self.assertGreater(limited.exception.retry_after, 5)
        self.assertEqual(poet.sleeps, [])


class WatchTest(ProxyTest):
    def test_a_broken_stream_resumes_with_last_event_id_and_repeats_no_stage(self) -> None:
        direct = Client(URL, KEY)
        run = direct.enhance(code_of(unique("resumed")), wait=False)
        connections = []

        def cut_the_first_stream(method: str, path: str, headers: dict):
            if not path.endswith("/events"):
                return None
            connections.append(headers.get("last-event-id"))
            return ("cut_after_stages", 2) if len(connections) == 1 else None

        self.proxy.rules.append(cut_the_first_stream)
        watched = [s.stage for s in Client(self.proxy.url, KEY).run(run.id).watch(timeout=60)]
        self.assertEqual(connections, ["0", "2"])
        # The whole story, from the service once the run has ended: the resumed watch saw each stage once.
        full = [s.stage for s in direct.run(run.id).watch(timeout=60)]
        self.assertEqual(watched, full)
        self.assertEqual(full[-1], "completed")

    def test_without_an_event_stream_it_polls_the_run(self) -> None:
        page = b"<html>streaming is not allowed here</html>"
        self.proxy.rules.append(lambda m, p, h: ("answer", 200, {"Content-Type": "text/html"}, page) if p.endswith("/events") else None)
        poet = Client(self.proxy.url, KEY)
        run = poet.enhance(code_of(unique("polled")), wait=False)
        stages = [s.stage for s in run.watch(timeout=60)]
        # The run takes the model's 1.5 s: polling saw it running, with its stages so far.
        self.assertEqual(stages[0], "queued")
        self.assertEqual(len(self.proxy.seen("GET", "/events")), 1)
        self.assertTrue(self.proxy.seen("GET", f"/api/v1/runs/{run.id}"))
        self.assertEqual(run.final_status, "completed")
        self.assertEqual(run.result().version, 1)

    def test_after_three_broken_streams_it_polls_the_run(self) -> None:
        self.proxy.rules.append(lambda m, p, h: ("answer", 502, {"Content-Type": "text/plain"}, b"bad gateway") if p.endswith("/events") else None)
        poet = Client(self.proxy.url, KEY)
        run = poet.enhance(code_of(unique("broken")), wait=False)
        list(run.watch(timeout=60))
        self.assertEqual(len(self.proxy.seen("GET", "/events")), 3)
        self.assertEqual(run.final_status, "completed")
        result = run.result()
        self.assertTrue(result.function_name.startswith("broken_"))
        self.assertEqual(result.version, 1)


if __name__ == "__main__":
    unittest.main()
