import type { FunctionAnalysis } from '../contracts/analysis';
import type { JsonValue, OptimizeFor } from '../contracts/enhance';
import type { DomainSettings } from './domains';

/** Part of every cache key: bump whenever the generated code changes for the same input. */
export const ENHANCER_VERSION = 'template-2';

export interface TemplateInput {
  functionName: string;
  originalCode: string;
  analysis: FunctionAnalysis;
  /** Settings as they apply to this request, optimize_for already applied (applyOptimizeFor). */
  domain: DomainSettings;
  /** Recorded in the output; the shift it implies is already in `domain`. Null: the domain's own settings. */
  optimizeFor: OptimizeFor | null;
}

export interface TemplateOutput {
  python: string;
  dana: string;
  params: Record<string, JsonValue>;
  optimizations: string[];
}

/** Annotations Perceive and Enforce check; anything else passes unchecked. */
const SIMPLE_TYPES = new Set(['int', 'float', 'str', 'bool', 'list', 'dict', 'tuple', 'set', 'bytes']);

const PYTHON_IMPORTS = `import asyncio as _poet_asyncio
import collections as _poet_collections
import contextlib as _poet_contextlib
import contextvars as _poet_contextvars
import functools as _poet_functools
import inspect as _poet_inspect
import json as _poet_json
import logging as _poet_logging
import math as _poet_math
import os as _poet_os
import re as _poet_re
import threading as _poet_threading
import time as _poet_time


def _poet_load_params(params):
    """Learned values from the JSON file named by POET_PARAMS_FILE (our params.json) override the generated ones."""
    path = _poet_os.environ.get("POET_PARAMS_FILE")
    if path:
        with open(path, encoding="utf-8") as handle:
            learned = _poet_json.load(handle)
        params.update({key: value for key, value in learned.items() if key in params})
    return params
`;

/** The generic POET decorator: the same text in every module, so it reads (and is reviewed) once. */
const PYTHON_RUNTIME = `class PoetEnforcementError(ValueError):
    """A result broke an Enforce rule of POET_PARAMS."""


_poet_log = _poet_logging.getLogger("poet")
_poet_audit_log = _poet_logging.getLogger("poet.audit")


_POET_SIMPLE_TYPES = {
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "list": list,
    "dict": dict,
    "tuple": tuple,
    "set": set,
    "bytes": bytes,
    "None": type(None),
}


def _poet_simple_type(annotation):
    """The class a simple annotation names, whether given as the class or as a string; else None."""
    if isinstance(annotation, str):
        return _POET_SIMPLE_TYPES.get(annotation.strip())
    if annotation is None:
        return type(None)
    return annotation if isinstance(annotation, type) and annotation in _POET_SIMPLE_TYPES.values() else None


def _poet_matches(value, expected):
    # bool is an int subclass, yet True is no answer to "int" or "float"; an int is a fine float.
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def _poet_non_finite(value):
    return isinstance(value, float) and not _poet_math.isfinite(value)


def _poet_allows_none(param):
    text = param.annotation if isinstance(param.annotation, str) else repr(param.annotation)
    return param.default is None or "None" in text or "Optional" in text


def _poet_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _poet_check_value(name, pname, item, params, ranges, drift):
    if params["reject_non_finite_args"] and _poet_non_finite(item):
        raise ValueError(f"{name}() argument '{pname}' must be a finite number, got {item!r}")
    limit = params["max_input_tokens"]
    if limit and isinstance(item, str) and (len(item) + 3) // 4 > limit:
        raise ValueError(f"{name}() argument '{pname}' is about {(len(item) + 3) // 4} tokens, over the limit of {limit}")
    if not _poet_number(item):
        return
    for pattern, low, high in ranges:
        if pattern.fullmatch(pname.lower()) and ((low is not None and item < low) or (high is not None and item > high)):
            raise ValueError(f"{name}() argument '{pname}' = {item!r} is outside the allowed range [{low}, {high}]")
    if drift is not None:
        drift.observe(pname, item)


class _PoetDrift:
    """Running mean and variance per numeric argument (Welford); values far from the mean count as drift, not errors."""

    def __init__(self, name, params, stats):
        self._name, self._z, self._min = name, params["drift_z"], params["drift_min_samples"]
        self._stats, self._seen, self._lock = stats, {}, _poet_threading.Lock()

    def observe(self, pname, value):
        if not _poet_math.isfinite(value):
            return
        with self._lock:
            count, mean, m2 = self._seen.get(pname, (0, 0.0, 0.0))
            if count >= self._min and m2 > 0:
                z = abs(value - mean) / _poet_math.sqrt(m2 / (count - 1))
                if z > self._z:
                    self._stats.add("drift_alerts")
                    _poet_log.warning("%s(): argument %r = %r is %.1f standard deviations from its mean %.4g", self._name, pname, value, z, mean)
            count += 1
            delta = value - mean
            mean += delta / count
            self._seen[pname] = (count, mean, m2 + delta * (value - mean))


def _poet_perceive(name, signature, params, args, kwargs, ranges=(), drift=None):
    """Checks the arguments; False when they do not bind, so the original raises its own TypeError."""
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return False
    for pname, value in bound.arguments.items():
        param = signature.parameters[pname]
        if param.kind is param.VAR_POSITIONAL:
            values = value
        elif param.kind is param.VAR_KEYWORD:
            values = value.values()
        else:
            values = (value,)
        expected = _poet_simple_type(param.annotation) if params["check_types"] else None
        for item in values:
            if item is None and _poet_allows_none(param):
                continue
            if item is None and params["reject_none"]:
                raise TypeError(f"{name}() argument '{pname}' must not be None")
            if expected is not None and not _poet_matches(item, expected):
                raise TypeError(f"{name}() argument '{pname}' must be {expected.__name__}, got {type(item).__name__}")
            _poet_check_value(name, pname, item, params, ranges, drift)
    return True


def _poet_enforce(name, returns, params, result):
    if params["check_return_type"] and returns is not None and not _poet_matches(result, returns):
        raise PoetEnforcementError(f"{name}() returned {type(result).__name__}, expected {returns.__name__}")
    if params["reject_non_finite_result"] and _poet_non_finite(result):
        raise PoetEnforcementError(f"{name}() returned a non-finite number: {result!r}")
    limit = params["max_abs_result"]
    if limit and _poet_number(result) and abs(result) > limit:
        raise PoetEnforcementError(f"{name}() returned {result!r}, beyond the allowed magnitude {limit:g}")
    return result


# The function's own errors are never a passing fault, whatever a params file says.
_POET_NEVER_RETRIED = (ValueError, TypeError, ArithmeticError, LookupError, AttributeError, AssertionError, NameError, RuntimeError)


def _poet_transient(params, exc):
    if isinstance(exc, _POET_NEVER_RETRIED):
        return False
    return any(cls.__name__ in params["retry_on"] for cls in type(exc).__mro__)


def _poet_retry_delay(params, attempt, exc):
    """Seconds to wait before the next attempt, or None when exc must propagate as it is."""
    if attempt >= params["retries"] or not _poet_transient(params, exc):
        return None
    return min(params["backoff_base"] * 2 ** attempt, params["backoff_max"])


def _poet_call(name, active, fn, args, kwargs, timeout):
    """One attempt; with a timeout it runs in a daemon thread, so an overrunning call cannot hold up exit."""
    outcome = {}

    def attempt():
        active.set(True)
        try:
            outcome["value"] = fn(*args, **kwargs)
        except BaseException as exc:
            outcome["error"] = exc

    context = _poet_contextvars.copy_context()
    if not timeout:
        context.run(attempt)
    else:
        worker = _poet_threading.Thread(target=context.run, args=(attempt,), name=f"poet-{name}", daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            raise TimeoutError(f"{name}() did not finish within the POET timeout of {timeout:g}s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


async def _poet_await(name, active, fn, args, kwargs, timeout):
    async def attempt():
        active.set(True)
        return await fn(*args, **kwargs)

    task = _poet_asyncio.ensure_future(attempt())
    try:
        done, _ = await _poet_asyncio.wait({task}, timeout=timeout or None)
    except BaseException:
        task.cancel()
        raise
    if task in done:
        return task.result()
    task.cancel()
    raise TimeoutError(f"{name}() did not finish within the POET timeout of {timeout:g}s")


def _poet_operate(name, active, fn, args, kwargs, params, stats):
    attempt = 0
    while True:
        try:
            return _poet_call(name, active, fn, args, kwargs, params["timeout"])
        except Exception as exc:
            delay = _poet_retry_delay(params, attempt, exc)
            if delay is None:
                raise
        attempt += 1
        stats.add("retries")
        _poet_time.sleep(delay)


async def _poet_operate_async(name, active, fn, args, kwargs, params, stats):
    attempt = 0
    while True:
        try:
            return await _poet_await(name, active, fn, args, kwargs, params["timeout"])
        except Exception as exc:
            delay = _poet_retry_delay(params, attempt, exc)
            if delay is None:
                raise
        attempt += 1
        stats.add("retries")
        await _poet_asyncio.sleep(delay)


class _PoetStats(dict):
    """Call statistics, exposed as <name>.poet_stats."""

    def __init__(self):
        super().__init__(
            calls=0, successes=0, failures=0, retries=0, cache_hits=0, fallbacks=0, drift_alerts=0,
            total_duration_s=0.0, last_duration_s=0.0, latency_p50_s=0.0, latency_p95_s=0.0,
        )
        self._lock = _poet_threading.Lock()
        self._window = _poet_collections.deque(maxlen=256)

    def add(self, key, amount=1):
        with self._lock:
            self[key] += amount

    @_poet_contextlib.contextmanager
    def observe(self):
        started = _poet_time.perf_counter()
        succeeded = False
        try:
            yield
            succeeded = True
        finally:
            elapsed = _poet_time.perf_counter() - started
            with self._lock:
                self["calls"] += 1
                self["successes" if succeeded else "failures"] += 1
                self["total_duration_s"] += elapsed
                self["last_duration_s"] = elapsed
                self._window.append(elapsed)
                ordered = sorted(self._window)
                self["latency_p50_s"] = ordered[(len(ordered) - 1) // 2]
                self["latency_p95_s"] = ordered[min(len(ordered) - 1, _poet_math.ceil(0.95 * len(ordered)) - 1)]


_POET_PII = _poet_re.compile(r"[\\w.+-]+@[\\w-]+\\.[\\w.-]+|\\d[\\d -]{4,}\\d")


class _PoetAudit:
    """Bounded trail of calls (<name>.poet_audit), also sent to the poet.audit logger; PII masked when asked."""

    def __init__(self, name, params):
        self._name, self._mask = name, params["mask_pii"]
        self.entries = _poet_collections.deque(maxlen=1000)

    def describe(self, args, kwargs):
        text = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
        return _POET_PII.sub("***", text) if self._mask else text

    def record(self, args, kwargs, outcome):
        entry = {"time": _poet_time.time(), "function": self._name, "args": self.describe(args, kwargs), "outcome": outcome}
        self.entries.append(entry)
        _poet_audit_log.info("%s", _poet_json.dumps(entry))


class _PoetCache:
    """LRU of results by hashable arguments; unhashable calls simply run."""

    def __init__(self, size, stats):
        self._size, self._stats, self._lock = size, stats, _poet_threading.Lock()
        self._items = _poet_collections.OrderedDict()

    @staticmethod
    def key(args, kwargs):
        try:
            key = (args, tuple(sorted(kwargs.items())))
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
            return True, self._items[key]

    def put(self, key, value):
        if key is None:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


def _poet_enhance(fn, params):
    """Wraps fn in Perceive, Operate and Enforce; name, signature, docstring and results stay fn's."""
    name = fn.__name__
    try:
        signature = _poet_inspect.signature(fn)
    except (TypeError, ValueError):
        signature = None
    returns = _poet_simple_type(signature.return_annotation) if signature is not None else None
    # Recursive calls reach the public name, hence the wrapper: inside a call they go straight to fn.
    active = _poet_contextvars.ContextVar(f"poet_active_{name}", default=False)
    stats = _PoetStats()
    ranges = [(_poet_re.compile(rule["param"]), rule["min"], rule["max"]) for rule in params["ranges"]]
    drift = _PoetDrift(name, params, stats) if params["drift_z"] else None
    audit = _PoetAudit(name, params) if params["audit_trail"] else None
    cache = _PoetCache(params["cache_size"], stats) if params["cache_size"] else None
    last_good = {}

    def perceive(args, kwargs):
        return signature is None or _poet_perceive(name, signature, params, args, kwargs, ranges, drift)

    @_poet_contextlib.contextmanager
    def observed(args, kwargs):
        try:
            with stats.observe():
                yield
        except Exception as exc:
            _poet_log.info("%s() failed: %s: %s", name, type(exc).__name__, exc)
            if audit is not None:
                audit.record(args, kwargs, f"raised {type(exc).__name__}")
            raise
        if audit is not None:
            audit.record(args, kwargs, "ok")

    def settle(exc):
        """The last good result when the domain holds it through a transient fault; else exc propagates."""
        if params["fallback_last_good"] and "value" in last_good and _poet_transient(params, exc):
            stats.add("fallbacks")
            return last_good["value"]
        raise exc

    def finish(key, result):
        result = _poet_enforce(name, returns, params, result)
        last_good["value"] = result
        if cache is not None:
            cache.put(key, result)
        return result

    if _poet_inspect.isgeneratorfunction(fn) or _poet_inspect.isasyncgenfunction(fn):
        # Retrying or timing out a half-consumed stream would replay or cut it: Perceive only.
        def wrapper(*args, **kwargs):
            perceive(args, kwargs)
            return fn(*args, **kwargs)

    elif _poet_inspect.iscoroutinefunction(fn):

        async def wrapper(*args, **kwargs):
            if active.get():
                return await fn(*args, **kwargs)
            with observed(args, kwargs):
                if not perceive(args, kwargs):
                    return await fn(*args, **kwargs)
                key = _PoetCache.key(args, kwargs) if cache is not None else None
                hit, value = cache.get(key) if cache is not None else (False, None)
                if hit:
                    return value
                try:
                    result = await _poet_operate_async(name, active, fn, args, kwargs, params, stats)
                except Exception as exc:
                    return settle(exc)
                return finish(key, result)

    else:

        def wrapper(*args, **kwargs):
            if active.get():
                return fn(*args, **kwargs)
            with observed(args, kwargs):
                if not perceive(args, kwargs):
                    return fn(*args, **kwargs)
                key = _PoetCache.key(args, kwargs) if cache is not None else None
                hit, value = cache.get(key) if cache is not None else (False, None)
                if hit:
                    return value
                try:
                    result = _poet_operate(name, active, fn, args, kwargs, params, stats)
                except Exception as exc:
                    return settle(exc)
                return finish(key, result)

    wrapper = _poet_functools.wraps(fn)(wrapper)
    if signature is not None:
        wrapper.__signature__ = signature
    wrapper.poet_stats = stats
    wrapper.poet_params = params
    wrapper.poet_audit = audit.entries if audit is not None else None
    return wrapper


def _poet_train(params, feedback):
    """The reference basic rule: a failure adds a retry (at most 5); a run over 0.8 x timeout raises the
    timeout x 1.2 (at most 120 s), one under 0.3 x timeout lowers it x 0.9 (at least 5 s).
    Statistical and adaptive learning run in the service, which hands results back through POET_PARAMS_FILE."""
    if params["enable_training"]:
        retries, timeout = params["retries"], params["timeout"]
        if not feedback.get("success", True):
            retries = max(retries, min(retries + 1, 5))
        duration = feedback.get("duration_s", feedback.get("execution_time"))
        if isinstance(duration, (int, float)) and not isinstance(duration, bool) and timeout:
            if duration > 0.8 * timeout:
                timeout = max(timeout, min(timeout * 1.2, 120))
            elif duration < 0.3 * timeout:
                timeout = min(timeout, max(timeout * 0.9, 5))
        params["retries"], params["timeout"] = retries, round(timeout, 3)
    return {"retries": params["retries"], "timeout": params["timeout"]}
`;

function pyLiteral(value: JsonValue): string {
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number' || typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pyLiteral).join(', ')}]`;
  return `{${Object.entries(value)
    .map(([key, item]) => `${JSON.stringify(key)}: ${pyLiteral(item)}`)
    .join(', ')}}`;
}

function buildParams(domain: DomainSettings, optimizeFor: OptimizeFor | null): Record<string, JsonValue> {
  const { perceive, operate, enforce, train } = domain;
  return {
    domain: domain.name,
    optimize_for: optimizeFor,
    retries: operate.retries,
    timeout: operate.timeout_s,
    backoff_base: operate.backoff_base_s,
    backoff_max: operate.backoff_max_s,
    retry_on: [...operate.retry_on],
    check_types: perceive.check_types,
    reject_none: perceive.reject_none,
    reject_non_finite_args: perceive.reject_non_finite,
    ranges: perceive.ranges.map((rule) => ({ ...rule })),
    max_input_tokens: perceive.max_input_tokens,
    drift_z: perceive.drift_z,
    drift_min_samples: perceive.drift_min_samples,
    cache_size: operate.cache_size,
    fallback_last_good: operate.fallback_last_good,
    check_return_type: enforce.check_return_type,
    reject_non_finite_result: enforce.reject_non_finite,
    max_abs_result: enforce.max_abs_result,
    audit_trail: enforce.audit_trail,
    mask_pii: enforce.mask_pii,
    enable_training: train.enable_training,
    learning_rate: train.learning_rate,
    learning_algorithm: train.algorithm,
  };
}

function listOptimizations(analysis: FunctionAnalysis, domain: DomainSettings): string[] {
  const { perceive, operate, enforce, train } = domain;
  const streams = analysis.is_generator;
  const returnsFloat = analysis.returns === 'float';
  const features: [boolean, string][] = [
    [perceive.check_types && analysis.params.some((p) => SIMPLE_TYPES.has(p.annotation ?? '')), 'perceive:type_checks'],
    [perceive.reject_none, 'perceive:reject_none'],
    [perceive.reject_non_finite, 'perceive:finite_args'],
    [perceive.ranges.length > 0, `perceive:ranges=${perceive.ranges.length}`],
    [perceive.max_input_tokens !== null, `perceive:max_input_tokens=${perceive.max_input_tokens}`],
    [perceive.drift_z !== null, `perceive:drift_z=${perceive.drift_z}`],
    [!streams, `operate:retries=${operate.retries}`],
    [!streams, `operate:retry_on=${operate.retry_on.join('|')}`],
    [!streams, `operate:backoff=min(${operate.backoff_base_s}*2^n,${operate.backoff_max_s})s`],
    [!streams, `operate:timeout=${operate.timeout_s}s`],
    [!streams && operate.cache_size > 0, `operate:cache=${operate.cache_size}`],
    [!streams && operate.fallback_last_good, 'operate:fallback_last_good'],
    [!streams, 'operate:latency_p50_p95'],
    [!streams && enforce.check_return_type && SIMPLE_TYPES.has(analysis.returns ?? ''), 'enforce:return_type'],
    [!streams && enforce.reject_non_finite && returnsFloat, 'enforce:finite_result'],
    [!streams && enforce.max_abs_result !== null, `enforce:max_abs_result=${enforce.max_abs_result}`],
    [!streams && enforce.audit_trail, `enforce:audit_trail${enforce.mask_pii ? '(pii_masked)' : ''}`],
    [train.enable_training, `train:${train.algorithm}`],
  ];
  return features.filter(([applies]) => applies).map(([, feature]) => feature);
}

const FUTURE_IMPORT = /^from[ \t]+__future__[ \t]+import[ \t]+(?:\([^)]*\)|[^\n]*)/gm;

/** `from __future__` imports must open the module: hoisted above ours, blanked in place so line offsets hold. */
function splitFutureImports(code: string): { future: string[]; body: string } {
  const future = code.match(FUTURE_IMPORT) ?? [];
  const body = code.replace(FUTURE_IMPORT, (statement) => '\n'.repeat(statement.split('\n').length - 1));
  return { future, body };
}

function renderPython(input: TemplateInput, params: Record<string, JsonValue>): string {
  const { functionName: name, originalCode, domain, optimizeFor } = input;
  const { future, body } = splitFutureImports(originalCode);
  const paramLines = Object.entries(params).map(([key, value]) => `    ${JSON.stringify(key)}: ${pyLiteral(value)},`);
  return [
    `"""POET-enhanced ${name}: the original code below, wrapped in Perceive, Operate, Enforce and Train.`,
    '',
    `Domain ${domain.name}, ${optimizeFor ? `optimized for ${optimizeFor}` : 'domain defaults'}; generated by poet-service (${ENHANCER_VERSION}).`,
    'Perceive checks arguments, Operate retries transient errors with backoff under an enforced timeout,',
    `Enforce checks the result, train_${name}(feedback) learns retries and timeout.`,
    'POET_PARAMS holds the settings; a JSON file named by the POET_PARAMS_FILE environment variable overrides them.',
    '"""',
    ...future,
    PYTHON_IMPORTS,
    '',
    'POET_PARAMS = _poet_load_params(',
    '    {',
    ...paramLines.map((line) => `    ${line}`),
    '    }',
    ')',
    '',
    '# ---- original code, verbatim ----',
    body.trimEnd(),
    '',
    '',
    '# ---- POET ----',
    PYTHON_RUNTIME,
    '',
    `${name} = _poet_enhance(${name}, POET_PARAMS)`,
    '',
    '',
    `def train_${name}(feedback: dict) -> dict:`,
    `    """Learns from one feedback record ({"success": bool, "duration_s": float}); returns {"retries", "timeout"}."""`,
    '    return _poet_train(POET_PARAMS, feedback)',
    '',
  ].join('\n');
}

/** Dana (aitomatic/dana) mirrors Python: the original definition under an @poet decorator with the same settings. */
function renderDana(input: TemplateInput, params: Record<string, JsonValue>): string {
  const { functionName: name, originalCode, analysis } = input;
  const definition = originalCode
    .split(/\r?\n/)
    .slice(analysis.lineno - 1, analysis.end_lineno)
    .join('\n');
  const settings = ['domain', 'optimize_for', 'retries', 'timeout', 'enable_training', 'learning_algorithm', 'learning_rate']
    .map((key) => `${key}=${pyLiteral(params[key] ?? null)}`)
    .join(', ');
  return [
    `# POET-enhanced ${name}, generated by poet-service (${ENHANCER_VERSION}); settings as in the Python module's POET_PARAMS.`,
    `@poet(${settings})`,
    definition.trimEnd(),
    '',
  ].join('\n');
}

/** The offline enhancer: deterministic (same input, byte-identical output) and standard-library-only Python. */
export function enhanceWithTemplate(input: TemplateInput): TemplateOutput {
  const params = buildParams(input.domain, input.optimizeFor);
  return {
    python: renderPython(input, params),
    dana: renderDana(input, params),
    params,
    optimizations: listOptimizations(input.analysis, input.domain),
  };
}
