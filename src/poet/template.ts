import type { FunctionAnalysis } from '../contracts/analysis';
import type { JsonValue, OptimizeFor } from '../contracts/enhance';
import type { DomainSettings } from './domains';

/** Part of every cache key: bump whenever the generated code changes for the same input. */
export const ENHANCER_VERSION = 'template-1';

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
import contextlib as _poet_contextlib
import contextvars as _poet_contextvars
import functools as _poet_functools
import inspect as _poet_inspect
import json as _poet_json
import math as _poet_math
import os as _poet_os
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


def _poet_perceive(name, signature, params, args, kwargs):
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
            if params["reject_non_finite_args"] and _poet_non_finite(item):
                raise ValueError(f"{name}() argument '{pname}' must be a finite number, got {item!r}")
    return True


def _poet_enforce(name, returns, params, result):
    if params["check_return_type"] and returns is not None and not _poet_matches(result, returns):
        raise PoetEnforcementError(f"{name}() returned {type(result).__name__}, expected {returns.__name__}")
    if params["reject_non_finite_result"] and _poet_non_finite(result):
        raise PoetEnforcementError(f"{name}() returned a non-finite number: {result!r}")
    return result


def _poet_retry_delay(params, attempt, exc):
    """Seconds to wait before the next attempt, or None when exc must propagate as it is."""
    if attempt >= params["retries"]:
        return None
    if not any(cls.__name__ in params["retry_on"] for cls in type(exc).__mro__):
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
        super().__init__(calls=0, successes=0, failures=0, retries=0, total_duration_s=0.0, last_duration_s=0.0)
        self._lock = _poet_threading.Lock()

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

    def perceive(args, kwargs):
        return signature is None or _poet_perceive(name, signature, params, args, kwargs)

    if _poet_inspect.isgeneratorfunction(fn) or _poet_inspect.isasyncgenfunction(fn):
        # Retrying or timing out a half-consumed stream would replay or cut it: Perceive only.
        def wrapper(*args, **kwargs):
            perceive(args, kwargs)
            return fn(*args, **kwargs)

    elif _poet_inspect.iscoroutinefunction(fn):

        async def wrapper(*args, **kwargs):
            if active.get() or not perceive(args, kwargs):
                return await fn(*args, **kwargs)
            with stats.observe():
                return _poet_enforce(name, returns, params, await _poet_operate_async(name, active, fn, args, kwargs, params, stats))

    else:

        def wrapper(*args, **kwargs):
            if active.get() or not perceive(args, kwargs):
                return fn(*args, **kwargs)
            with stats.observe():
                return _poet_enforce(name, returns, params, _poet_operate(name, active, fn, args, kwargs, params, stats))

    wrapper = _poet_functools.wraps(fn)(wrapper)
    if signature is not None:
        wrapper.__signature__ = signature
    wrapper.poet_stats = stats
    wrapper.poet_params = params
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
    check_return_type: enforce.check_return_type,
    reject_non_finite_result: enforce.reject_non_finite,
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
    [!streams, `operate:retries=${operate.retries}`],
    [!streams, `operate:retry_on=${operate.retry_on.join('|')}`],
    [!streams, `operate:backoff=min(${operate.backoff_base_s}*2^n,${operate.backoff_max_s})s`],
    [!streams, `operate:timeout=${operate.timeout_s}s`],
    [!streams && enforce.check_return_type && SIMPLE_TYPES.has(analysis.returns ?? ''), 'enforce:return_type'],
    [!streams && enforce.reject_non_finite && returnsFloat, 'enforce:finite_result'],
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
