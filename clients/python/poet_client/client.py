"""The client: requests with the API key, error mapping, bounded retries of 429 and 503, runs and their event stream."""

from __future__ import annotations

import ast
import base64
import email.utils
import hashlib
import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

from .errors import PoetConnectionError, PoetError, RunFailed, error_for
from .models import (
    Diff,
    EnhanceResult,
    FeedbackResult,
    Resolution,
    Rollout,
    RolloutStarted,
    RunRef,
    RunStatus,
    Stage,
    VersionDetail,
    VersionList,
    VersionOutcomes,
)

__all__ = ["Client", "Run"]

_RETRIED = (429, 503)
# The stream sends a comment at least every RUN_EVENTS_HEARTBEAT_MS (15 s by default): silence past this is a break.
_STREAM_IDLE_S = 45.0
# Broken streams in a row, none of which delivered an event, before polling takes over.
_STREAM_BREAKS = 3
_STREAM_BROKEN = (OSError, http.client.HTTPException)


def _retry_after(value: Optional[str]) -> Optional[float]:
    """Retry-After as seconds: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _function_name(code: str) -> str:
    """The name of the one top-level function ``code`` defines."""
    names = [n.name for n in ast.parse(code).body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if len(names) != 1:
        found = ", ".join(names) or "none"
        raise ValueError(f"pass function_name: the code defines {len(names)} top-level functions ({found})")
    return names[0]


class Client:
    """A client of the POET enhancement service.

    ``url`` is the API's base URL (``http://127.0.0.1:8080``), ``api_key`` a key sent as ``Authorization: Bearer``
    (``None`` where authentication is off, as under ``npm start``). Answers 429 and 503 are retried after the
    ``Retry-After`` they carry (exponential from 1 s without one), as long as the waits of one call add up to at most
    ``max_retry_wait`` seconds; past that the call raises ``RateLimited`` or ``ServiceUnavailable``.
    """

    def __init__(self, url: str, api_key: Optional[str] = None, *, timeout: float = 60.0, max_retry_wait: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.max_retry_wait = max_retry_wait

    # -- the API ---------------------------------------------------------------------------------------------

    def enhance(
        self,
        code: str,
        function_name: Optional[str] = None,
        domain: Optional[str] = None,
        wait: bool = True,
        *,
        optimize_for: Optional[str] = None,
        strict: Optional[bool] = None,
        context: Optional[Dict[str, Any]] = None,
        evidence_budget_s: Optional[float] = None,
    ) -> Union[EnhanceResult, "Run"]:
        """Enhances the function ``function_name`` (by default the one top-level function of ``code``).

        ``wait=True`` returns the ``EnhanceResult``, following the run when it outlasts the service's wait budget;
        ``wait=False`` returns the ``Run`` at once (``Prefer: respond-async``), to ``watch()`` or ask for its ``result()``.
        Raises ``Unprocessable`` (``invalid_python``, ``function_not_found``, ``validation_failed``), ``InvalidRequest``
        (``unknown_domain``...), or ``RunFailed`` when the run ends without completing. ``evidence_budget_s`` (0 to 60)
        is the time validation spends on doctests and generated inputs (the service's default: 2 s).
        """
        body: Dict[str, Any] = {"function_name": function_name or _function_name(code), "original_code": code}
        if domain is not None:
            body["domain"] = domain
        if optimize_for is not None:
            body["optimize_for"] = optimize_for
        if strict is not None:
            body["strict"] = strict
        if context is not None:
            body["context"] = context
        if evidence_budget_s is not None:
            body["evidence_budget_s"] = evidence_budget_s
        headers = {} if wait else {"Prefer": "respond-async"}
        status, answer = self._json("POST", "/api/v1/functions/enhance", body, headers)
        return self._outcome(status, answer, EnhanceResult.from_dict, wait)

    def feedback(
        self,
        function_name: str,
        version: int,
        feedback_type: str = "user",
        *,
        execution_id: Optional[str] = None,
        rating: Optional[int] = None,
        comments: Optional[str] = None,
        metrics: Optional[Dict[str, float]] = None,
        suggestions: Optional[List[str]] = None,
        examples: Optional[List[Dict[str, Any]]] = None,
        wait: bool = True,
    ) -> Union[FeedbackResult, "Run"]:
        """Reports how ``version`` did; the service may regenerate the function (``requires_update``, ``new_version``).

        ``feedback_type`` is ``performance``, ``error``, ``user`` or ``system``; ``metrics`` may hold ``success_rate``,
        ``avg_duration`` (seconds) and ``error_rate``. ``execution_id`` identifies the report (a random one by
        default): the same id again is answered ``duplicate`` and not counted twice, so a retried report is safe.
        ``examples`` (1 to 20) are calls with the outcome expected, ``{"args": [...], "kwargs": {...}, "expected": value}``
        or ``{..., "raises": {"type": "ValueError", "message": "..."}}``: every later version must give them, so a
        regeneration that does not fails with code ``validation_failed`` naming the example (``Unprocessable``, or
        ``RunFailed`` when the client followed the run past the service's wait budget).
        """
        body: Dict[str, Any] = {
            "version": version,
            "execution_id": execution_id or uuid.uuid4().hex,
            "feedback_type": feedback_type,
        }
        given = (("rating", rating), ("comments", comments), ("metrics", metrics), ("suggestions", suggestions), ("examples", examples))
        for key, value in given:
            if value is not None:
                body[key] = value
        headers = {} if wait else {"Prefer": "respond-async"}
        status, answer = self._json("POST", f"/api/v1/functions/{_segment(function_name)}/feedback", body, headers)
        return self._outcome(status, answer, FeedbackResult.from_dict, wait)

    def versions(self, function_name: str) -> VersionList:
        """Every version of the function with its feedback metrics, and which one is active."""
        return VersionList.from_dict(self._json("GET", f"/api/v1/functions/{_segment(function_name)}/versions")[1])

    def version(self, function_name: str, version: int) -> VersionDetail:
        """One version with its code, parameters and metadata."""
        return VersionDetail.from_dict(self._json("GET", f"/api/v1/functions/{_segment(function_name)}/versions/{int(version)}")[1])

    def runtime(self, function_name: str, version: int) -> str:
        """The poet_runtime.py the version was validated with (put it beside its code.py), checked against its digest.

        Raises ``NotFound`` with code ``runtime_embedded`` for a version whose code embeds its runtime.
        """
        path = f"/api/v1/functions/{_segment(function_name)}/versions/{int(version)}/runtime"
        with self._request("GET", path, headers={"Accept": "text/x-python"}) as response:
            data = response.read()
            digest = response.headers.get("Repr-Digest", "")
        if digest != f"sha-256=:{base64.b64encode(hashlib.sha256(data).digest()).decode()}:":
            raise PoetError("digest_mismatch", f"{path}: the body does not match its Repr-Digest ({digest or 'none sent'})")
        return data.decode("utf-8")

    def diff(self, function_name: str, from_version: int, to_version: int) -> Diff:
        """Unified diffs of the Python, the Dana and the parameters between two versions."""
        path = f"/api/v1/functions/{_segment(function_name)}/versions/{int(from_version)}/diff/{int(to_version)}"
        return Diff.from_dict(self._json("GET", path)[1])

    def resolve(self, function_name: str, unit: str) -> Resolution:
        """The version ``unit`` should run, and where its code is; the same unit gets the same answer."""
        query = urllib.parse.urlencode({"unit": unit})
        return Resolution.from_dict(self._json("GET", f"/api/v1/functions/{_segment(function_name)}/resolve?{query}")[1])

    def outcomes(self, function_name: str, version: int, window: str = "24h") -> VersionOutcomes:
        """What the field reported for ``version`` over ``window``: calls, success rate, p50/p95 latency, error mix."""
        query = urllib.parse.urlencode({"window": window})
        path = f"/api/v1/functions/{_segment(function_name)}/versions/{int(version)}/outcomes?{query}"
        return VersionOutcomes.from_dict(self._json("GET", path)[1])

    def start_rollout(
        self,
        function_name: str,
        candidate_version: int,
        *,
        steps: Optional[List[int]] = None,
        min_calls: Optional[int] = None,
        step_wait: Optional[int] = None,
        max_duration: Optional[int] = None,
    ) -> RolloutStarted:
        """Rolls ``candidate_version`` out against the active version (operator role): a rising share of units
        (``steps`` in percent, the last 100; the service's default 5, 25, 50, 100) resolves to it, judged on field
        reports every ``step_wait`` seconds once each version has ``min_calls`` calls. Raises ``Conflict``
        (``rollout_running``, ``candidate_is_active``, ``no_active_version``) or ``NotFound``.
        """
        body: Dict[str, Any] = {"candidate_version": int(candidate_version)}
        given = (("steps", steps), ("min_calls", min_calls), ("step_wait", step_wait), ("max_duration", max_duration))
        for key, value in given:
            if value is not None:
                body[key] = value
        return RolloutStarted.from_dict(self._json("POST", f"/api/v1/functions/{_segment(function_name)}/rollouts", body)[1])

    def rollout(self, function_name: str) -> Rollout:
        """The function's latest rollout, running or ended; ``NotFound`` (``rollout_not_found``) when it never had one."""
        return Rollout.from_dict(self._json("GET", f"/api/v1/functions/{_segment(function_name)}/rollouts/current")[1])

    def pause_rollout(self, function_name: str) -> Rollout:
        """Holds the rollout at its share (operator role); its timers stop counting until ``resume_rollout``."""
        return self._control_rollout(function_name, "pause")

    def resume_rollout(self, function_name: str) -> Rollout:
        return self._control_rollout(function_name, "resume")

    def abort_rollout(self, function_name: str) -> Rollout:
        """Ends the rollout: the candidate's share goes to 0 and the active version stays active."""
        return self._control_rollout(function_name, "abort")

    def promote_rollout(self, function_name: str) -> Rollout:
        """Ends the rollout by activating the candidate now, whatever the figures say."""
        return self._control_rollout(function_name, "promote")

    def run(self, workflow_id: str) -> "Run":
        """A run by its id (e.g. one started elsewhere), to watch or to wait for an enhancement's result."""
        return Run(self, RunRef(workflow_id), EnhanceResult.from_dict)

    # -- plumbing --------------------------------------------------------------------------------------------

    def _control_rollout(self, function_name: str, action: str) -> Rollout:
        """Answers once the run has acted; ``Conflict`` (``rollout_ended``) when the rollout is over."""
        path = f"/api/v1/functions/{_segment(function_name)}/rollouts/current/{action}"
        return Rollout.from_dict(self._json("POST", path, {})[1])

    def _outcome(self, status: int, answer: Dict[str, Any], parse: Callable[[Dict[str, Any]], Any], wait: bool) -> Any:
        if status == 202:
            run = Run(self, RunRef.from_dict(answer["run"]), parse)
            return run.result() if wait else run
        result = parse(answer)
        if wait:
            return result
        # Answered at once although asked not to wait (a duplicate report): a run that has already ended.
        run_ref = getattr(result, "run", None)
        return Run(self, run_ref or RunRef(""), parse, result=result)

    def _request(self, method: str, path: str, body: Optional[bytes] = None, headers: Optional[Dict[str, str]] = None, timeout: Optional[float] = None) -> http.client.HTTPResponse:
        """An open response with a 2xx status; 429 and 503 retried within the wait budget; errors raised mapped."""
        all_headers = {"Accept": "application/json", "User-Agent": "poet-client-python"}
        if self.api_key:
            all_headers["Authorization"] = f"Bearer {self.api_key}"
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        waited = 0.0
        attempt = 0
        while True:
            request = urllib.request.Request(self.url + path, data=body, headers=all_headers, method=method)
            try:
                return urllib.request.urlopen(request, timeout=timeout or self.timeout)
            except urllib.error.HTTPError as err:
                text = err.read()
                err.close()
                try:
                    parsed: Any = json.loads(text) if text else None
                except ValueError:
                    parsed = text.decode("utf-8", "replace")
                delay = _retry_after(err.headers.get("Retry-After"))
                if err.code in _RETRIED:
                    wanted = delay if delay is not None else float(min(2**attempt, 8))
                    if waited + wanted <= self.max_retry_wait:
                        self._sleep(wanted)
                        waited += wanted
                        attempt += 1
                        continue
                raise error_for(err.code, parsed, delay) from None
            except (urllib.error.URLError, _STREAM_BROKEN) as err:
                reason = getattr(err, "reason", err)
                raise PoetConnectionError("connection_error", f"cannot reach {self.url}: {reason}") from err

    def _json(self, method: str, path: str, body: Optional[Dict[str, Any]] = None, headers: Optional[Dict[str, str]] = None) -> Tuple[int, Dict[str, Any]]:
        data = None if body is None else json.dumps(body).encode("utf-8")
        with self._request(method, path, data, headers) as response:
            return response.status, json.loads(response.read() or b"null")

    def _sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _segment(value: str) -> str:
    return urllib.parse.quote(str(value), safe="")


class Run:
    """A run of the service (an enhancement or a feedback-driven regeneration), identified by its workflow id."""

    def __init__(self, client: Client, ref: RunRef, parse: Callable[[Dict[str, Any]], Any], result: Any = None) -> None:
        self._client = client
        self.ref = ref
        self._parse = parse
        self._result = result
        #: The run's final status once ``watch()`` saw it end (``completed``, ``failed``...).
        self.final_status: Optional[str] = None
        #: Stage transitions seen so far; the event stream's ids count them, so a resume asks for the rest.
        self._seen = 0
        self._poll_interval = 1.0

    @property
    def id(self) -> str:
        return self.ref.workflow_id

    def __repr__(self) -> str:
        return f"Run({self.id!r})"

    def status(self) -> RunStatus:
        """``GET /api/v1/runs/{id}``: status, and the result or error once ended."""
        return RunStatus.from_dict(self._client._json("GET", f"/api/v1/runs/{_segment(self.id)}")[1])

    def cancel(self) -> str:
        """Asks the run to stop; answers ``canceling``, or the status of a run that had already ended."""
        return self._client._json("DELETE", f"/api/v1/runs/{_segment(self.id)}")[1]["status"]

    def watch(self, timeout: Optional[float] = None) -> Iterator[Stage]:
        """Yields the run's stages as they happen, from its Server-Sent Events stream, until the run ends.

        A broken stream is resumed with ``Last-Event-ID``, so no stage is yielded twice; after three breaks in a row
        without an event, or when the stream is not available, it polls ``GET /api/v1/runs/{id}`` instead.
        ``timeout`` (seconds) bounds the whole watch with ``TimeoutError``.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._result is not None:
            return
        breaks = 0
        retry_s = 2.0
        while breaks < _STREAM_BREAKS and self.final_status is None:
            _check(deadline, self)
            headers = {"Accept": "text/event-stream", "Last-Event-ID": str(self._seen)}
            delivered = False
            try:
                response = self._client._request("GET", f"/api/v1/runs/{_segment(self.id)}/events", headers=headers, timeout=_STREAM_IDLE_S)
            except PoetError as err:
                # The run or the key is wrong: no fallback would help. Anything else (5xx, unreachable) is a break.
                if err.status is not None and err.status < 500 and err.status != 429:
                    raise
                response = None
            if response is not None:
                with response:
                    if not response.headers.get("Content-Type", "").startswith("text/event-stream"):
                        break
                    try:
                        for event, data, retry in _events(response):
                            if retry is not None:
                                retry_s = retry / 1000.0
                            if event is None:
                                continue
                            delivered = True
                            if event == "stage":
                                self._seen += 1
                                yield Stage.from_dict(data)
                            elif event == "end":
                                self.final_status = data["status"]
                            _check(deadline, self)
                    except _STREAM_BROKEN:
                        pass
            if self.final_status is not None:
                return
            breaks = 1 if delivered else breaks + 1
            if breaks < _STREAM_BREAKS:
                time.sleep(retry_s)
        yield from self._poll(deadline)

    def _poll(self, deadline: Optional[float]) -> Iterator[Stage]:
        while self.final_status is None:
            status = self.status()
            history = (status.progress or {}).get("history", [])
            for transition in history[self._seen :]:
                self._seen += 1
                yield Stage.from_dict(transition)
            if status.status != "running":
                self.final_status = status.status
                return
            _check(deadline, self)
            time.sleep(self._poll_interval)

    def result(self, timeout: Optional[float] = None) -> Any:
        """Waits for the run to end: its result (``EnhanceResult``, ``FeedbackResult``), or ``RunFailed`` with its code."""
        if self._result is not None:
            return self._result
        for _ in self.watch(timeout):
            pass
        status = self.status()
        if status.status == "completed" and status.result is not None:
            self._result = self._parse(status.result)
            return self._result
        error = status.error or {}
        raise RunFailed(
            status.status,
            str(error.get("code", status.status)),
            str(error.get("message", "")),
            run=error.get("run"),
            category=error.get("category"),
            severity=error.get("severity"),
        )


def _check(deadline: Optional[float], run: Run) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise TimeoutError(f"run {run.id} did not end in time")


def _events(response: http.client.HTTPResponse) -> Iterator[Tuple[Optional[str], Any, Optional[int]]]:
    """(event, parsed data, retry) per message of a text/event-stream; (None, None, retry) for a bare ``retry:``."""
    event: Optional[str] = None
    data: List[str] = []
    retry: Optional[int] = None
    for raw in response:
        line = raw.decode("utf-8").rstrip("\r\n")
        if line == "":
            if data:
                yield event or "message", json.loads("\n".join(data)), retry
            elif retry is not None:
                yield None, None, retry
            event, data, retry = None, [], None
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "retry" and value.isdigit():
            retry = int(value)
