"""POET runtime: Perceive, Operate, Enforce and Train around a plain Python function.

An enhanced module is the original code followed by `name = poet(POET_PARAMS)(name)`. The wrapper keeps the
function's name, signature and docstring, and by default never changes an outcome the original would produce:
- Perceive and Enforce *observe* the annotations: a mismatch is counted in `name.poet_stats` and logged, not raised.
- The wrapper refuses a call or a result only under a rule someone declared: a domain rule in POET_PARAMS (ranges,
  None or non-finite values, token limits, result magnitude), `strict` type checks, or the enforced `timeout`.
  Every such refusal is a PoetRuleError, so a caller (and the validation sandbox) can tell it from the function's own.
- The function's own exceptions propagate unchanged: the same object, so the same type, message and arguments.
- Operate retries only exception classes named in `retry_on`, and never runs two attempts of one call at once:
  a sync attempt that overruns the timeout is abandoned, not retried (a thread cannot be stopped); an async attempt
  is cancelled and awaited before the next one starts (docs/runtime.md has the whole rule).

Standard library only, and one file: a version folder carries it as poet_runtime.py beside its code.py.
With POET_REPORT_URL set, each call's outcome is also reported to the service (see "outcome reports" below), and
resolve_version() asks it which version a unit runs, with that version's params ("version resolution" below).
"""

import atexit
import collections
import contextlib
import contextvars
import copy
import functools
import inspect
import json
import logging
import math
import os
import re
import threading
import time

__version__ = "1.2.0"
__all__ = [
    "DEFAULTS", "PoetEnforcementError", "PoetInputError", "PoetRuleError", "PoetTimeoutError", "PoetTypeError", "poet",
    "report_stats", "flush_reports", "resolve_version", "PoetResolveError",
]

# The reference runtime's values (aitomatic/dana POET) and the observing defaults of this one: a module that names
# fewer settings, written for an earlier runtime, gets these for the rest.
DEFAULTS = {
    "domain": "base_reliability",
    "optimize_for": None,
    "strict": False,
    "retries": 3,
    "timeout": 30,
    "backoff_base": 1,
    "backoff_max": 8,
    "retry_on": ["TimeoutError", "ConnectionError"],
    "check_types": True,
    "reject_none": False,
    "reject_non_finite_args": False,
    "ranges": [],
    "max_input_tokens": None,
    "drift_z": None,
    "drift_min_samples": 30,
    "cache_size": 0,
    "fallback_last_good": False,
    "check_return_type": True,
    "reject_non_finite_result": False,
    "max_abs_result": None,
    "audit_trail": False,
    "mask_pii": False,
    "enable_training": True,
    "learning_rate": 0.05,
    "learning_algorithm": "basic",
}


class PoetRuleError(Exception):
    """A declared rule refused a call or a result; never raised by the function itself."""


class PoetInputError(PoetRuleError, ValueError):
    """An argument broke a declared Perceive rule (range, finite value, token limit)."""


class PoetTypeError(PoetRuleError, TypeError):
    """An argument broke a strict type check or the rule against None."""


class PoetEnforcementError(PoetRuleError, ValueError):
    """A result broke a declared Enforce rule."""


class PoetTimeoutError(PoetRuleError, TimeoutError):
    """An attempt ran past the enforced timeout. `still_running`: it may still run, so no other attempt may start."""

    def __init__(self, message, still_running=False):
        super().__init__(message)
        self.still_running = still_running


_log = logging.getLogger("poet")
_audit_log = logging.getLogger("poet.audit")

_SIMPLE_TYPES = {
    "int": int, "float": float, "str": str, "bool": bool, "list": list, "dict": dict, "tuple": tuple, "set": set,
    "bytes": bytes, "None": type(None),
}

# The function's own errors are never a passing fault, whatever a params file says.
_NEVER_RETRIED = (ValueError, TypeError, ArithmeticError, LookupError, AttributeError, AssertionError, NameError, RuntimeError)

_PII = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+|\d[\d -]{4,}\d")


def _simple_type(annotation):
    """The class a simple annotation names, whether given as the class or as a string; else None."""
    if isinstance(annotation, str):
        return _SIMPLE_TYPES.get(annotation.strip())
    if annotation is None:
        return type(None)
    return annotation if isinstance(annotation, type) and annotation in _SIMPLE_TYPES.values() else None


def _matches(value, expected):
    # bool is an int subclass, yet True is no answer to "int" or "float"; an int is a fine float.
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _non_finite(value):
    return isinstance(value, float) and not math.isfinite(value)


def _allows_none(param):
    text = param.annotation if isinstance(param.annotation, str) else repr(param.annotation)
    return param.default is None or "None" in text or "Optional" in text


def load_params(params):
    """DEFAULTS, then `params`, then learned values from the JSON file named by POET_PARAMS_FILE (our params.json)."""
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"unknown POET setting(s) {', '.join(unknown)} for poet_runtime {__version__}")
    settings = {**DEFAULTS, **params}
    path = os.environ.get("POET_PARAMS_FILE")
    if path:
        with open(path, encoding="utf-8") as handle:
            learned = json.load(handle)
        settings.update({key: value for key, value in learned.items() if key in DEFAULTS})
    return settings


class _Stats(dict):
    """Call statistics, exposed as <name>.poet_stats."""

    def __init__(self):
        super().__init__(
            calls=0, successes=0, failures=0, retries=0, cache_hits=0, fallbacks=0, drift_alerts=0,
            type_mismatches=0, return_mismatches=0, rule_refusals=0, overruns=0, hook_errors=0,
            total_duration_s=0.0, last_duration_s=0.0, latency_p50_s=0.0, latency_p95_s=0.0,
        )
        self._lock = threading.Lock()
        self._window = collections.deque(maxlen=256)

    def add(self, key, amount=1):
        with self._lock:
            self[key] += amount

    @contextlib.contextmanager
    def observe(self):
        started = time.perf_counter()
        succeeded = False
        try:
            yield
            succeeded = True
        finally:
            elapsed = time.perf_counter() - started
            with self._lock:
                self["calls"] += 1
                self["successes" if succeeded else "failures"] += 1
                self["total_duration_s"] += elapsed
                self["last_duration_s"] = elapsed
                self._window.append(elapsed)
                ordered = sorted(self._window)
                self["latency_p50_s"] = ordered[(len(ordered) - 1) // 2]
                self["latency_p95_s"] = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


class _Drift:
    """Running mean and variance per numeric argument (Welford); values far from the mean count as drift, not errors."""

    def __init__(self, name, params, stats):
        self._name, self._z, self._min = name, params["drift_z"], params["drift_min_samples"]
        self._stats, self._seen, self._lock = stats, {}, threading.Lock()

    def observe(self, pname, value):
        try:
            value = float(value)
        except OverflowError:  # an int beyond any float has no place in a running mean, and is no error of the call
            return
        if not math.isfinite(value):
            return
        with self._lock:
            count, mean, m2 = self._seen.get(pname, (0, 0.0, 0.0))
            if count >= self._min and m2 > 0:
                z = abs(value - mean) / math.sqrt(m2 / (count - 1))
                if z > self._z:
                    self._stats.add("drift_alerts")
                    _log.warning("%s(): argument %r = %r is %.1f standard deviations from its mean %.4g", self._name, pname, value, z, mean)
            count += 1
            delta = value - mean
            mean += delta / count
            self._seen[pname] = (count, mean, m2 + delta * (value - mean))


class _Audit:
    """Bounded trail of calls (<name>.poet_audit), also sent to the poet.audit logger; PII masked when asked."""

    def __init__(self, name, params):
        self._name, self._mask = name, params["mask_pii"]
        self.entries = collections.deque(maxlen=1000)

    def record(self, args, kwargs, outcome):
        text = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
        entry = {"time": time.time(), "function": self._name, "args": _PII.sub("***", text) if self._mask else text, "outcome": outcome}
        self.entries.append(entry)
        _audit_log.info("%s", json.dumps(entry))


def _typed(value):
    """The value with its type: 5, 5.0 and True are equal and hash alike, yet a function may answer each differently
    (refuse the float, say); so may 0.0 and -0.0. Tuples are keyed item by item."""
    if isinstance(value, tuple):
        return type(value), tuple(_typed(item) for item in value)
    if isinstance(value, float) and value == 0:
        return float, math.copysign(1.0, value)
    return type(value), value


class _Cache:
    """LRU of results by hashable arguments, typed; unhashable calls simply run. Each caller gets its own copy of
    a result, as it would from a fresh call, so mutating one answer cannot change the next."""

    def __init__(self, size, stats):
        self._size, self._stats, self._lock = size, stats, threading.Lock()
        self._items = collections.OrderedDict()

    @staticmethod
    def key(args, kwargs):
        try:
            key = (tuple(_typed(a) for a in args), tuple(sorted((k, _typed(v)) for k, v in kwargs.items())))
            hash(key)
            return key
        except TypeError:
            return None

    def get(self, key):
        with self._lock:
            if key is None or key not in self._items:
                return False, None
            self._items.move_to_end(key)
            self._stats["cache_hits"] += 1
            value = self._items[key]
        return True, copy.deepcopy(value)

    def put(self, key, value):
        if key is None:
            return
        try:
            value = copy.deepcopy(value)
        except Exception:  # noqa: BLE001 - a result that cannot be copied is not cached; the call already answered
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class _Poet:
    """The phases for one function; the wrappers below only sequence them."""

    def __init__(self, fn, params, perceive_hook, enforce_hook):
        self.fn, self.name, self.params = fn, fn.__name__, params
        try:
            self.signature = inspect.signature(fn)
        except (TypeError, ValueError):
            self.signature = None
        annotation = self.signature.return_annotation if self.signature is not None else inspect.Signature.empty
        self.returns = None if annotation is inspect.Signature.empty else _simple_type(annotation)
        # Recursive calls reach the public name, hence the wrapper: inside a call they go straight to fn.
        self.active = contextvars.ContextVar(f"poet_active_{self.name}", default=False)
        self.stats = _Stats()
        self.ranges = [(re.compile(rule["param"]), rule.get("min"), rule.get("max")) for rule in params["ranges"]]
        self.drift = _Drift(self.name, params, self.stats) if params["drift_z"] else None
        self.audit = _Audit(self.name, params) if params["audit_trail"] else None
        self.cache = _Cache(params["cache_size"], self.stats) if params["cache_size"] else None
        self.hooks = {"perceive": perceive_hook, "enforce": enforce_hook}
        self.last_good = {}
        self.logged_mismatches = set()
        self.version = _reported_version(fn)

    # ---- rules ------------------------------------------------------------------------------------------

    def refuse(self, error_class, message):
        self.stats.add("rule_refusals")
        raise error_class(message)

    def mismatch(self, counter, what):
        """An annotation the value does not match: raised under `strict`, else counted (and logged once per place)."""
        if self.params["strict"]:
            self.refuse(PoetTypeError if counter == "type_mismatches" else PoetEnforcementError, what)
        self.stats.add(counter)
        if what not in self.logged_mismatches and len(self.logged_mismatches) < 100:
            self.logged_mismatches.add(what)
            _log.info("%s (observed, not enforced)", what)

    def run_hook(self, phase, *args):
        hook = self.hooks[phase]
        if hook is None:
            return
        try:
            hook(*args)
        except Exception as exc:  # noqa: BLE001 - a hook observes; it never decides an outcome
            self.stats.add("hook_errors")
            _log.info("%s(): %s hook failed: %s: %s", self.name, phase, type(exc).__name__, exc)

    # ---- Perceive ---------------------------------------------------------------------------------------

    def perceive(self, args, kwargs):
        """Checks the arguments; False when they do not bind, so the original raises its own TypeError."""
        if self.signature is None:
            return True
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError:
            return False
        for pname, value in bound.arguments.items():
            param = self.signature.parameters[pname]
            if param.kind is param.VAR_POSITIONAL:
                values = value
            elif param.kind is param.VAR_KEYWORD:
                values = value.values()
            else:
                values = (value,)
            expected = _simple_type(param.annotation) if self.params["check_types"] else None
            for item in values:
                if item is None and _allows_none(param):
                    continue
                if item is None and self.params["reject_none"]:
                    self.refuse(PoetTypeError, f"{self.name}() argument '{pname}' must not be None")
                if expected is not None and not _matches(item, expected):
                    self.mismatch("type_mismatches", f"{self.name}() argument '{pname}' must be {expected.__name__}, got {type(item).__name__}")
                self.check_value(pname, item)
        self.run_hook("perceive", args, kwargs)
        return True

    def check_value(self, pname, item):
        params = self.params
        if params["reject_non_finite_args"] and _non_finite(item):
            self.refuse(PoetInputError, f"{self.name}() argument '{pname}' must be a finite number, got {item!r}")
        limit = params["max_input_tokens"]
        if limit and isinstance(item, str) and (len(item) + 3) // 4 > limit:
            self.refuse(PoetInputError, f"{self.name}() argument '{pname}' is about {(len(item) + 3) // 4} tokens, over the limit of {limit}")
        if not _number(item):
            return
        for pattern, low, high in self.ranges:
            if pattern.fullmatch(pname.lower()) and ((low is not None and item < low) or (high is not None and item > high)):
                self.refuse(PoetInputError, f"{self.name}() argument '{pname}' = {item!r} is outside the allowed range [{low}, {high}]")
        if self.drift is not None:
            self.drift.observe(pname, item)

    # ---- Enforce ----------------------------------------------------------------------------------------

    def enforce(self, result):
        params = self.params
        if params["check_return_type"] and self.returns is not None and not _matches(result, self.returns):
            self.mismatch("return_mismatches", f"{self.name}() returned {type(result).__name__}, expected {self.returns.__name__}")
        if params["reject_non_finite_result"] and _non_finite(result):
            self.refuse(PoetEnforcementError, f"{self.name}() returned a non-finite number: {result!r}")
        limit = params["max_abs_result"]
        if limit and _number(result) and abs(result) > limit:
            self.refuse(PoetEnforcementError, f"{self.name}() returned {result!r}, beyond the allowed magnitude {limit:g}")
        self.run_hook("enforce", result)
        return result

    # ---- Operate ----------------------------------------------------------------------------------------

    def transient(self, exc):
        if isinstance(exc, _NEVER_RETRIED):
            return False
        return any(cls.__name__ in self.params["retry_on"] for cls in type(exc).__mro__)

    def retry_delay(self, attempt, exc):
        """Seconds to wait before the next attempt, or None when exc must propagate as it is."""
        params = self.params
        if attempt >= params["retries"] or (isinstance(exc, PoetTimeoutError) and exc.still_running) or not self.transient(exc):
            return None
        return min(params["backoff_base"] * 2 ** attempt, params["backoff_max"])

    def timed_out(self):
        return f"{self.name}() did not finish within the POET timeout of {self.params['timeout']:g}s"

    def attempt(self, args, kwargs):
        """One sync attempt; with a timeout it runs in a daemon thread, so an overrunning call cannot hold up exit."""
        _CallReport.attempted()
        outcome = {}

        def body():
            self.active.set(True)
            try:
                outcome["value"] = self.fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller as it is
                outcome["error"] = exc

        context = contextvars.copy_context()
        timeout = self.params["timeout"]
        if not timeout:
            context.run(body)
        else:
            worker = threading.Thread(target=context.run, args=(body,), name=f"poet-{self.name}", daemon=True)
            worker.start()
            worker.join(timeout)
            if worker.is_alive():
                self.stats.add("overruns")
                raise PoetTimeoutError(self.timed_out(), still_running=True)
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    async def attempt_async(self, args, kwargs):
        """One async attempt; on timeout it is cancelled and awaited, so it has ended before any retry starts."""
        import asyncio  # noqa: PLC0415 - on first need: it is a large import, and most functions are not async

        _CallReport.attempted()

        async def body():
            self.active.set(True)
            return await self.fn(*args, **kwargs)

        timeout = self.params["timeout"]
        task = asyncio.ensure_future(body())
        try:
            done, _ = await asyncio.wait({task}, timeout=timeout or None)
            if task in done:
                return task.result()
            task.cancel()
            # A body may catch the cancellation and go on: it gets one more timeout to end, else it is abandoned.
            done, _ = await asyncio.wait({task}, timeout=timeout)
        except BaseException:
            task.cancel()
            raise
        if task not in done:
            self.stats.add("overruns")
            raise PoetTimeoutError(self.timed_out(), still_running=True)
        if task.cancelled():
            raise PoetTimeoutError(self.timed_out())
        # It ended on its own just as it was cancelled: its outcome is real, and retrying would repeat its effects.
        return task.result()

    def operate(self, args, kwargs):
        attempt = 0
        while True:
            try:
                return self.attempt(args, kwargs)
            except Exception as exc:
                delay = self.retry_delay(attempt, exc)
                if delay is None:
                    raise
            attempt += 1
            self.stats.add("retries")
            time.sleep(delay)

    async def operate_async(self, args, kwargs):
        import asyncio  # noqa: PLC0415 - see attempt_async

        attempt = 0
        while True:
            try:
                return await self.attempt_async(args, kwargs)
            except Exception as exc:
                delay = self.retry_delay(attempt, exc)
                if delay is None:
                    raise
            attempt += 1
            self.stats.add("retries")
            await asyncio.sleep(delay)

    # ---- around the call --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def observed(self, args, kwargs):
        report = _CallReport.start(self.name, self.version)
        try:
            with self.stats.observe():
                yield
        except Exception as exc:
            _log.info("%s() failed: %s: %s", self.name, type(exc).__name__, exc)
            if self.audit is not None:
                self.audit.record(args, kwargs, f"raised {type(exc).__name__}")
            if report is not None:
                report.finish(exc)
            raise
        if self.audit is not None:
            self.audit.record(args, kwargs, "ok")
        if report is not None:
            report.finish(None)

    def cached(self, args, kwargs):
        """(hit, value, key) for this call."""
        if self.cache is None:
            return False, None, None
        key = _Cache.key(args, kwargs)
        hit, value = self.cache.get(key)
        return hit, value, key

    def settle(self, exc):
        """The last good result when the domain holds it through a transient fault; else exc propagates."""
        if self.params["fallback_last_good"] and "value" in self.last_good and self.transient(exc):
            self.stats.add("fallbacks")
            return self.last_good["value"]
        raise exc

    def finish(self, key, result):
        result = self.enforce(result)
        self.last_good["value"] = result
        if self.cache is not None:
            self.cache.put(key, result)
        return result

    def train(self, feedback):
        """The reference basic rule: a failure adds a retry (at most 5); a run over 0.8 x timeout raises the
        timeout x 1.2 (at most 120 s), one under 0.3 x timeout lowers it x 0.9 (at least 5 s).
        Statistical and adaptive learning run in the service, which hands results back through POET_PARAMS_FILE."""
        params = self.params
        if params["enable_training"]:
            retries, timeout = params["retries"], params["timeout"]
            if not feedback.get("success", True):
                retries = max(retries, min(retries + 1, 5))
            duration = feedback.get("duration_s", feedback.get("execution_time"))
            if _number(duration) and timeout:
                if duration > 0.8 * timeout:
                    timeout = max(timeout, min(timeout * 1.2, 120))
                elif duration < 0.3 * timeout:
                    timeout = min(timeout, max(timeout * 0.9, 5))
            params["retries"], params["timeout"] = retries, round(timeout, 3)
        return {"retries": params["retries"], "timeout": params["timeout"]}

    def wrap(self):
        fn = self.fn
        if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
            # Retrying or timing out a half-consumed stream would replay or cut it: Perceive only.
            def wrapper(*args, **kwargs):
                self.perceive(args, kwargs)
                return fn(*args, **kwargs)

        elif inspect.iscoroutinefunction(fn):

            async def wrapper(*args, **kwargs):
                if self.active.get():
                    return await fn(*args, **kwargs)
                with self.observed(args, kwargs):
                    if not self.perceive(args, kwargs):
                        return await fn(*args, **kwargs)
                    hit, value, key = self.cached(args, kwargs)
                    if hit:
                        return value
                    try:
                        result = await self.operate_async(args, kwargs)
                    except Exception as exc:
                        return self.settle(exc)
                    return self.finish(key, result)

        else:

            def wrapper(*args, **kwargs):
                if self.active.get():
                    return fn(*args, **kwargs)
                with self.observed(args, kwargs):
                    if not self.perceive(args, kwargs):
                        return fn(*args, **kwargs)
                    hit, value, key = self.cached(args, kwargs)
                    if hit:
                        return value
                    try:
                        result = self.operate(args, kwargs)
                    except Exception as exc:
                        return self.settle(exc)
                    return self.finish(key, result)

        wrapper = functools.wraps(fn)(wrapper)
        if self.signature is not None:
            wrapper.__signature__ = self.signature
        wrapper.poet_stats = self.stats
        wrapper.poet_params = self.params
        wrapper.poet_audit = self.audit.entries if self.audit is not None else None
        wrapper.poet_train = self.train
        wrapper.poet_runtime_version = __version__
        return wrapper


def poet(params, *, perceive=None, enforce=None):
    """The POET decorator: `name = poet(POET_PARAMS)(name)`.

    `perceive(args, kwargs)` and `enforce(result)` are optional hooks that observe each call after the built-in
    checks; what they return is ignored and what they raise is counted in poet_stats["hook_errors"], never raised.
    """
    settings = load_params(params)

    def decorate(fn):
        return _Poet(fn, settings, perceive, enforce).wrap()

    return decorate


# ---- outcome reports --------------------------------------------------------------------------------------------
# Opt-in: POET_REPORT_URL (the service's base URL) and POET_REPORT_KEY (an API key, best of the reporter role). Each
# call of an enhanced function queues one small record; a daemon thread posts them in batches. Reporting never blocks,
# slows or fails a call: a full queue drops the record and counts it, and while the service is away what is queued
# stays (up to the bound) and is sent again with backoff. Reports name the version: POET_VERSION, else the version
# folder (v<N>) the module was loaded from; a function without either is not reported (logged once).

_REPORT_PATH = "/api/v1/outcomes"
_REPORT_BATCH = 500
_REPORT_BACKOFF_MAX_S = 60.0
_ATTEMPTS = contextvars.ContextVar("poet_attempts", default=None)


def _reported_version(fn):
    explicit = os.environ.get("POET_VERSION", "")
    if re.fullmatch(r"[1-9][0-9]{0,8}", explicit):
        return int(explicit)
    code = getattr(fn, "__code__", None)
    if code is None:
        return None
    match = re.fullmatch(r"v([1-9][0-9]{0,8})", os.path.basename(os.path.dirname(os.path.abspath(code.co_filename))))
    return int(match.group(1)) if match else None


def _env_number(name, default):
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


class _Reporter:
    """A bounded queue of outcome records and the daemon thread that posts them."""

    def __init__(self, url, key):
        self.url = url.rstrip("/") + _REPORT_PATH
        self.key = key
        self.max_pending = int(_env_number("POET_REPORT_MAX_PENDING", 10000))
        self.interval_s = _env_number("POET_REPORT_INTERVAL_S", 2.0)
        self.pending = collections.deque()
        self.counts = {"sent": 0, "dropped": 0, "rejected": 0}
        self.lock = threading.Lock()
        # One batch in flight at a time: the thread and the flush at exit never send the same records twice.
        self.sending = threading.Lock()
        self.wake = threading.Event()
        self.backoff_s = 0.0
        self.warned = set()
        threading.Thread(target=self.loop, name="poet-report", daemon=True).start()
        # A short-lived process still delivers what it queued; a service that is away costs it at most 2 s at exit.
        atexit.register(self.flush, 2.0)

    def add(self, record):
        with self.lock:
            if len(self.pending) >= self.max_pending:
                self.counts["dropped"] += 1
                return
            self.pending.append(record)
            full = len(self.pending) >= _REPORT_BATCH
        if full and not self.backoff_s:
            self.wake.set()

    def warn_once(self, what, message, *args):
        if what not in self.warned:
            self.warned.add(what)
            _log.warning(message, *args)

    def loop(self):
        while True:
            self.wake.wait(self.backoff_s or self.interval_s)
            self.wake.clear()
            self.flush(None)

    def flush(self, deadline_s):
        """Sends what is queued, batch by batch, until it is all sent (True), a batch fails, or the deadline passes."""
        end = None if deadline_s is None else time.monotonic() + deadline_s
        if not self.sending.acquire(timeout=-1 if deadline_s is None else deadline_s):
            return False
        try:
            while True:
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    return False
                with self.lock:
                    batch = [self.pending.popleft() for _ in range(min(_REPORT_BATCH, len(self.pending)))]
                if not batch:
                    return True
                if not self.send(batch, 10.0 if left is None else min(left, 10.0)):
                    return False
        finally:
            self.sending.release()

    def send(self, batch, timeout_s):
        import urllib.error  # noqa: PLC0415 - only a reporting process pays for it
        import urllib.request  # noqa: PLC0415

        headers = {"content-type": "application/json"}
        if self.key:
            headers["x-api-key"] = self.key
        request = urllib.request.Request(self.url, json.dumps({"reports": batch}).encode(), headers, method="POST")
        retry_after = None
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - the operator's URL
                accepted = json.loads(response.read()).get("accepted", len(batch))
            with self.lock:
                self.counts["sent"] += accepted
                self.counts["rejected"] += len(batch) - accepted
            self.backoff_s = 0.0
            return True
        except urllib.error.HTTPError as err:
            status, retry_after = err.code, err.headers.get("retry-after")
        except (OSError, ValueError, AttributeError) as exc:  # unreachable, timed out, or not our service answering
            status = None
            self.warn_once("unreachable", "poet outcome reports: %s unreachable (%s); keeping up to %d", self.url, exc, self.max_pending)
        if status is not None and status < 500 and status not in (408, 429):
            # Refused for good (a bad key, a role that may not report): retrying would fail the same way.
            with self.lock:
                self.counts["rejected"] += len(batch)
            self.warn_once(status, "poet outcome reports: %s answered %d; %d reports discarded", self.url, status, len(batch))
            return True
        with self.lock:
            self.pending.extendleft(reversed(batch))
            while len(self.pending) > self.max_pending:
                self.pending.popleft()
                self.counts["dropped"] += 1
        try:
            wait_s = float(retry_after)
        except (TypeError, ValueError):
            wait_s = min(max(self.backoff_s * 2, self.interval_s), _REPORT_BACKOFF_MAX_S)
        self.backoff_s = min(max(wait_s, 0.1), _REPORT_BACKOFF_MAX_S)
        return False

    def snapshot(self):
        with self.lock:
            return {"enabled": True, "pending": len(self.pending), **self.counts}


_sink_lock = threading.Lock()
_sink = None


def _report_sink():
    """The process's reporter, made on first need; None unless POET_REPORT_URL is set."""
    global _sink  # noqa: PLW0603 - one reporter per process, made once
    if _sink is None:
        with _sink_lock:
            if _sink is None:
                url = os.environ.get("POET_REPORT_URL", "").strip()
                _sink = _Reporter(url, os.environ.get("POET_REPORT_KEY", "").strip()) if url else False
    return _sink or None


def _after_fork_in_child():
    """A forked child (a pre-fork server's worker) has no reporting thread: it gets a reporter of its own on its first
    call. The parent's queued reports stay the parent's to send, so none is sent twice."""
    global _sink, _sink_lock  # noqa: PLW0603
    if _sink:
        atexit.unregister(_sink.flush)
        _sink.pending = collections.deque()
    # Another thread may have held the lock at the fork: the child's copy would stay locked for ever.
    _sink_lock = threading.Lock()
    _sink = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class _CallReport:
    """One call's outcome: its latency, and the attempts Operate started for it (0 for a cache hit or a refusal)."""

    __slots__ = ("sink", "name", "version", "started", "attempts", "token")

    @staticmethod
    def start(name, version):
        sink = _report_sink()
        if sink is None:
            return None
        if version is None:
            sink.warn_once(("unversioned", name), "poet outcome reports: %s() has no version (set POET_VERSION); not reported", name)
            return None
        return _CallReport(sink, name, version)

    def __init__(self, sink, name, version):
        self.sink, self.name, self.version = sink, name, version
        self.attempts = [0]
        self.token = _ATTEMPTS.set(self.attempts)
        self.started = time.perf_counter()

    @staticmethod
    def attempted():
        attempts = _ATTEMPTS.get()
        if attempts is not None:
            attempts[0] += 1

    def finish(self, exc):
        try:
            latency_ms = (time.perf_counter() - self.started) * 1000
            _ATTEMPTS.reset(self.token)
            self.sink.add({
                "function_name": self.name, "version": self.version, "success": exc is None,
                "exception_type": None if exc is None else type(exc).__name__[:200],
                "latency_ms": round(latency_ms, 3), "attempts": self.attempts[0], "at": round(time.time(), 3),
            })
        except Exception:  # noqa: BLE001, S110 - reporting never changes a call's outcome
            pass


def report_stats():
    """Outcome reporting in this process: enabled, pending, sent, dropped (queue full) and rejected (refused)."""
    sink = _report_sink()
    if sink is None:
        return {"enabled": False, "pending": 0, "sent": 0, "dropped": 0, "rejected": 0}
    return sink.snapshot()


def flush_reports(timeout_s=5.0):
    """Sends the queued reports now; True when none is left. Processes exiting normally flush on their own (2 s)."""
    sink = _report_sink()
    return True if sink is None else sink.flush(timeout_s)


# ---- version resolution -----------------------------------------------------------------------------------------
# Where a rollout sends a share of units to a candidate version, a caller asks the service which version a unit runs
# (GET /api/v1/functions/{name}/resolve?unit=...) and reads that version's POET_PARAMS from the version it names. The
# service's base URL is POET_REPORT_URL unless given; the key (POET_RESOLVE_KEY) needs the viewer role, which a
# reporter key does not have.


class PoetResolveError(Exception):
    """The service refused or could not be reached: `status` (None when unreachable) and the API's error `code`."""

    def __init__(self, status, code, message):
        super().__init__(f"{code}: {message}")
        self.status, self.code = status, code


def _get_json(url, key, timeout_s):
    import urllib.error  # noqa: PLC0415 - only a resolving process pays for it
    import urllib.request  # noqa: PLC0415

    headers = {"accept": "application/json"}
    if key:
        headers["x-api-key"] = key
    request = urllib.request.Request(url, headers=headers, method="GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - the operator's URL
            return json.loads(response.read())
    except urllib.error.HTTPError as err:
        try:
            error = json.loads(err.read()).get("error", {})
        except (ValueError, AttributeError):
            error = {}
        raise PoetResolveError(err.code, error.get("code", f"http_{err.code}"), error.get("message", err.reason)) from None
    except (OSError, ValueError) as exc:
        raise PoetResolveError(None, "unreachable", f"{url}: {exc}") from exc


def resolve_version(function_name, unit, *, url=None, key=None, timeout_s=5.0):
    """The version the service says `unit` (a caller, a user, a job id) runs, and its params.

    Answers {"function_name", "unit", "version", "reason" ("active" or "rollout"), "bucket", "params"}: the same unit
    gets the same version while a rollout's share holds, and `poet(answer["params"])(fn)` wraps a function as that
    version does. Raises PoetResolveError when the service refuses (404 function_not_found, 403 for a key without the
    viewer role) or cannot be reached within `timeout_s` per request.
    """
    import urllib.parse  # noqa: PLC0415

    base = (url or os.environ.get("POET_REPORT_URL", "")).strip().rstrip("/")
    if not base:
        raise ValueError("resolve_version needs the service's URL: pass url= or set POET_REPORT_URL")
    key = key if key is not None else os.environ.get("POET_RESOLVE_KEY", "").strip()
    name = urllib.parse.quote(str(function_name), safe="")
    query = urllib.parse.urlencode({"unit": unit})
    resolution = _get_json(f"{base}/api/v1/functions/{name}/resolve?{query}", key, timeout_s)
    detail = _get_json(base + resolution["urls"]["version"], key, timeout_s)
    return {
        "function_name": resolution["function_name"],
        "unit": resolution["unit"],
        "version": resolution["version"],
        "reason": resolution["reason"],
        "bucket": resolution["bucket"],
        "params": detail["params"],
    }
