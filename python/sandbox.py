"""Validation harness: does the enhanced code behave like the original?

Run as `python3 -I sandbox.py SETTINGS`, one JSON request on stdin, one JSON result on
stdout (protocol in src/contracts/analysis.ts). Standard library only.
sandbox_server.py imports it and calls run() in a child forked per validation.
"""

import ast
import copy
import ctypes
import importlib.util
import inspect
import itertools
import json
import math
import os
import resource
import shutil
import signal
import sys
import random
import tempfile
import time
import types
import typing
import zlib

MAX_GENERATOR_ITEMS = 1000
# Evidence beyond the samples: inputs generated per validation, the agreeing inputs "high" needs, the default time
# for doctests and generated inputs together, and what one such input may take before it counts as inconclusive.
GENERATED_INPUTS = 200
HIGH_EVIDENCE = 100
EVIDENCE_BUDGET_S = 2.0
CALL_BUDGET_S = 0.1
MAX_FINDINGS = 20
# Exit code and stderr prefix of a run the kernel refused to isolate: nothing of the request ran.
ISOLATION_FAILED = 71
ISOLATION_FAILED_PREFIX = "sandbox isolation failed: "
MAX_REPR = 500
MAX_MESSAGE = 2000
FILE_SIZE_LIMIT = 16 * 1024 * 1024
# Threads count against RLIMIT_NPROC too, and the enhanced wrapper runs calls in threads.
EXTRA_TASKS = 32

_CANDIDATES = {
    "int": [0, 1, 7],
    "float": [0.5, 2.0],
    "str": ["", "abc"],
    "bool": [False, True],
    "list": [[], [1, 2]],
    "dict": [{}, {"a": 1}],
    "tuple": [(), (1, 2)],
}


# ---- static scan ----------------------------------------------------------------------------------

_SEVERITY = {"blocked": 3, "low": 2, "medium": 1}
_LEVEL_OF = {3: "blocked", 2: "low", 1: "medium", 0: "high"}

# Modules whose import alone means process control, raw sockets or native code.
_BLOCKED_MODULES = {"subprocess", "socket", "ctypes", "pty", "multiprocessing", "_posixsubprocess", "cffi"}
_NETWORK_MODULES = {"urllib", "http", "ftplib", "smtplib", "poplib", "imaplib", "telnetlib", "requests", "httpx", "aiohttp", "ssl"}
_BLOCKED_BUILTINS = {"eval", "exec", "compile", "__import__", "breakpoint"}
_BLOCKED_CALLS = {
    "os.system", "os.popen", "os.fork", "os.forkpty", "os.kill", "os.killpg", "os.execv", "os.execve", "os.execl",
    "os.execle", "os.execlp", "os.execlpe", "os.execvp", "os.execvpe", "os.spawnl", "os.spawnle", "os.spawnlp",
    "os.spawnlpe", "os.spawnv", "os.spawnve", "os.spawnvp", "os.spawnvpe", "os.posix_spawn", "os.posix_spawnp",
    "pickle.loads", "pickle.load", "pickle.Unpickler", "marshal.loads", "marshal.load", "shelve.open",
    "dill.loads", "dill.load", "importlib.import_module",
}
_DELETES = {"os.remove", "os.unlink", "os.rmdir", "os.removedirs", "os.rename", "os.replace", "os.truncate",
            "shutil.rmtree", "shutil.move", "shutil.copy", "shutil.copyfile", "shutil.copy2", "shutil.copytree"}
_TEMP_ROOTS = ("/tmp/", "/var/tmp/")


def _dotted(node, aliases):
    """'os.system' for `os.system`, `import os as o; o.system`, `from os import system`; None otherwise."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(aliases.get(node.id, node.id))
    return ".".join(reversed(parts))


def _literal(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _write_mode(call):
    mode = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "mode"), None)
    text = _literal(mode) if mode is not None else "r"
    return text is None or any(flag in text for flag in "wax+")


# Kinds that are leaves (contexts and operators): the walk need not visit them.
_LEAVES = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)


def _nodes(tree):
    """The nodes of `tree` in ast.NodeVisitor's order (depth first, fields in order) but with a stack of its own:
    `a + a + ... + a` nests as deep as it is long, and recursion would stop at a few hundred terms."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        children = []
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, list):
                children.extend(item for item in value if isinstance(item, ast.AST) and not isinstance(item, _LEAVES))
            elif isinstance(value, ast.AST) and not isinstance(value, _LEAVES):
                children.append(value)
        stack.extend(reversed(children))


class _Scanner:
    def __init__(self):
        self.aliases = {}
        self.findings = []

    def scan(self, tree):
        handlers = {ast.Import: self.on_import, ast.ImportFrom: self.on_import_from, ast.Call: self.on_call}
        for node in _nodes(tree):
            handler = handlers.get(type(node))
            if handler is not None:
                handler(node)

    def add(self, node, severity, rule, message):
        self.findings.append({"rule": rule, "severity": severity, "message": message, "line": getattr(node, "lineno", None)})

    def _module(self, node, name):
        root = name.split(".")[0]
        if root in _BLOCKED_MODULES:
            self.add(node, "blocked", "banned_import", f"imports {name}: process control, raw sockets or native code")
        elif root in _NETWORK_MODULES:
            self.add(node, "low", "network_import", f"imports {name}: network access")

    def on_import(self, node):
        for alias in node.names:
            self._module(node, alias.name)
            self.aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]

    def on_import_from(self, node):
        if node.module and node.level == 0:
            self._module(node, node.module)
            for alias in node.names:
                self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def _path(self, node, call, what):
        target = call.args[0] if call.args else None
        path = _literal(target) if target is not None else None
        if path is None:
            self.add(node, "low", "dynamic_write", f"{what} a path chosen at run time")
        elif os.path.isabs(path) and not path.startswith(_TEMP_ROOTS):
            self.add(node, "blocked", "write_outside_temp", f"{what} {path!r}, outside the temporary directory")

    def on_call(self, node):
        name = _dotted(node.func, self.aliases)
        if isinstance(node.func, ast.Name) and node.func.id in _BLOCKED_BUILTINS and node.func.id not in self.aliases:
            self.add(node, "blocked", "dynamic_code", f"calls {node.func.id}(): runs code built at run time")
        elif name in _BLOCKED_CALLS or (name or "").split(".")[0] in _BLOCKED_MODULES:
            self.add(node, "blocked", "dangerous_call", f"calls {name}")
        elif name in ("open", "io.open") and _write_mode(node):
            self._path(node, node, "writes to")
        elif name in _DELETES:
            self._path(node, node, f"{name}() changes")


def parse(code):
    """The tree of `code`, None when it does not parse: compiling the text then reports why."""
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def scan(tree):
    """Findings of the static scan of parse()'s tree and the safety ceiling they imply ('high' when there are none)."""
    if tree is None:
        return [], "high"
    scanner = _Scanner()
    scanner.scan(tree)
    worst = max((_SEVERITY[f["severity"]] for f in scanner.findings), default=0)
    return scanner.findings, _LEVEL_OF[worst]


# ---- run-time guards --------------------------------------------------------------------------------

# Raised as PermissionError inside the code under test: the OS-level guards (rlimits, a network namespace
# where the kernel allows one) stay in place when Python-level ones are bypassed.
_DENIED_EVENTS = frozenset({
    "socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo", "socket.gethostbyname",
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "os.kill",
    "os.killpg", "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata", "pty.spawn",
})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _guard(workdir):
    root = os.path.realpath(workdir) + os.sep
    # Bound here, not looked up when an event fires: the code under test can reach this module (sys.modules) and
    # the os module, and must not be able to empty the list or swap the functions the hook relies on.
    denied, write_flags, realpath, fsdecode, devnull = _DENIED_EVENTS, _WRITE_FLAGS, os.path.realpath, os.fsdecode, os.devnull

    def hook(event, args):
        if event in denied:
            raise PermissionError(f"sandbox: {event} is not allowed")
        if event == "open" and isinstance(args[0], (str, bytes)):
            mode, flags = args[1], args[2] if len(args) > 2 else 0
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool((flags or 0) & write_flags)
            path = fsdecode(args[0])
            if writes and not realpath(path).startswith(root) and path != devnull:
                raise PermissionError(f"sandbox: writing {path!r} outside the working directory is not allowed")

    sys.addaudithook(hook)


def _deny_network():
    """A fresh, empty network namespace where the kernel lets us make one (root, or unprivileged user namespaces)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return
    for flags in (0x40000000, 0x10000000 | 0x40000000):  # CLONE_NEWNET, then CLONE_NEWUSER | CLONE_NEWNET
        if libc.unshare(flags) == 0:
            return


class HarnessTimeout(BaseException):
    """BaseException so that the code under test cannot swallow it with `except Exception`."""


class CallTimeout(BaseException):
    """One doctest or generated input ran past its share of the budget: that input proves nothing either way."""


# Set while one bounded call runs: the alarm then ends that call, not the validation.
_bounded = {"on": False}


def _on_alarm(_signum, _frame):
    if _bounded["on"]:
        raise CallTimeout()
    raise HarnessTimeout()


def bounded(call, budget_s):
    """call() with at most `budget_s` of the validation's remaining wall clock; CallTimeout when it runs past it."""
    remaining = signal.getitimer(signal.ITIMER_REAL)[0]
    if remaining <= budget_s:
        return call()  # the validation's own limit comes first
    started = time.monotonic()
    _bounded["on"] = True
    signal.setitimer(signal.ITIMER_REAL, budget_s)
    try:
        return call()
    finally:
        _bounded["on"] = False
        signal.setitimer(signal.ITIMER_REAL, max(remaining - (time.monotonic() - started), 0.001))


def _user_tasks(uid):
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid == uid:
                count += len(os.listdir(f"/proc/{entry}/task"))
        except OSError:
            continue
    return count


def _limit(which, soft, hard=None):
    hard = soft if hard is None else hard
    _, current_hard = resource.getrlimit(which)
    if current_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, current_hard), min(hard, current_hard)
    try:
        resource.setrlimit(which, (soft, hard))
    except (ValueError, OSError):
        pass  # a limit the platform refuses is not a reason to skip validation


def set_limits(timeout_s, memory_mb):
    cpu = math.ceil(timeout_s) + 1
    _limit(resource.RLIMIT_CPU, cpu, cpu + 1)
    _limit(resource.RLIMIT_AS, memory_mb * 1024 * 1024)
    _limit(resource.RLIMIT_FSIZE, FILE_SIZE_LIMIT)
    _limit(resource.RLIMIT_NPROC, _user_tasks(os.getuid()) + EXTRA_TASKS)
    _limit(resource.RLIMIT_CORE, 0)


def _truncate(text, size):
    return text if len(text) <= size else text[: size - 3] + "..."


def _safe_repr(value):
    try:
        return _truncate(repr(value), MAX_REPR)
    except BaseException as exc:  # noqa: BLE001 - a broken __repr__ must not break the report
        return f"<unrepresentable {type(value).__name__}: {type(exc).__name__}>"


def _error_line(exc, filename):
    if isinstance(exc, SyntaxError) and exc.filename == filename:
        return exc.lineno
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _runtime():
    """poet_runtime as the harness imported it, before any code under test could touch it; None where it is absent."""
    return sys.modules.get("poet_runtime")


class Report:
    def __init__(self):
        self.started = time.monotonic()
        self.compiled = False
        self.imported = False
        self.samples_run = 0
        self.runtime_version = getattr(_runtime(), "__version__", None)
        # Inputs compared per source, and what became of them.
        self.inputs = {"samples": 0, "doctests": 0, "generated": 0, "feedback": 0}
        self.agreed = 0
        self.inconclusive = 0
        # Every distinct input the generator can make was tried (no parameters, or only booleans).
        self.exhaustive = False
        self.evidence_ms = 0.0
        # Refusals by a rule the settings declared (poet_runtime.PoetRuleError): reported, not behaviour changes.
        self.declared_rules = []
        self.mismatches = []
        self.errors = []
        self.findings = []
        self.ceiling = "high"
        self.activity = "starting"

    def error(self, stage, message, line=None):
        self.errors.append({"stage": stage, "message": _truncate(message, MAX_MESSAGE), "line": line})

    def compared(self, source, sample, expected, actual, rule_error):
        """Records one input of `source` on which original and enhanced gave `expected` and `actual`."""
        self.inputs[source] += 1
        if source == "samples":
            self.samples_run += 1
        if same_outcome(expected, actual):
            self.agreed += 1
            return True
        finding = {"sample": sample, "original": _describe(expected), "enhanced": _describe(actual)}
        if rule_error is not None and actual[0] == "raised" and isinstance(actual[1], rule_error):
            if len(self.declared_rules) < MAX_FINDINGS:
                self.declared_rules.append(finding)
        else:
            self.mismatches.append(finding)
        return False

    def result(self):
        if self.errors or self.mismatches:
            safety = "low"
        elif self.agreed < HIGH_EVIDENCE and not (self.exhaustive and self.agreed and not self.inconclusive):
            safety = "medium"
        else:
            safety = "high"
        if self.ceiling == "blocked" or _SEVERITY.get(self.ceiling, 0) > _SEVERITY.get(safety, 0):
            safety = self.ceiling
        return {
            "compiled": self.compiled,
            "imported": self.imported,
            "samples_run": self.samples_run,
            "runtime_version": self.runtime_version,
            "declared_rules": self.declared_rules,
            "evidence": {
                "inputs": self.inputs,
                "agreed": self.agreed,
                "inconclusive": self.inconclusive,
                "exhaustive": self.exhaustive,
                "duration_ms": round(self.evidence_ms, 3),
            },
            "mismatches": self.mismatches,
            "errors": self.errors,
            "findings": self.findings,
            "safety_level": safety,
            "duration_ms": round((time.monotonic() - self.started) * 1000, 3),
        }


def _compile(code, tree, filename):
    """What compile(code) gives, from parse()'s tree when there is one: parsing is most of a compile's cost."""
    if tree is not None:
        try:
            return compile(tree, filename, "exec", dont_inherit=True)
        except Exception:  # noqa: BLE001 - e.g. a tree too deep to convert back: the text decides, as it always did
            pass
    return compile(code, filename, "exec", dont_inherit=True)


def _declares_encoding(code):
    """Whether the file's bytes may decode other than as UTF-8: a coding declaration can only be in its first two lines."""
    return any("coding" in line for line in code.split("\n", 2)[:2])


def load_module(label, module_name, code, report, tree=None):
    """Compile, write and import `code` (whose parse() is `tree`) as a fresh module; None (with an error reported) on failure."""
    filename = os.path.abspath(f"{module_name}.py")
    prefix = "" if label == "enhanced" else f"{label} code: "
    report.activity = f"importing the {label} code"
    try:
        code_object = _compile(code, tree, filename)
    except SyntaxError as exc:
        report.error("compile", f"{prefix}{type(exc).__name__}: {exc.msg}", exc.lineno)
        return None
    except (ValueError, RecursionError, MemoryError) as exc:
        report.error("compile", f"{prefix}{type(exc).__name__}: {exc}")
        return None
    if label == "enhanced":
        report.compiled = True
    with open(filename, "w", encoding="utf-8") as handle:
        handle.write(code)
    spec = importlib.util.spec_from_file_location(module_name, filename)
    module = importlib.util.module_from_spec(spec)
    # dataclasses and pickling look the defining module up in sys.modules.
    sys.modules[module_name] = module
    try:
        if _declares_encoding(code):
            spec.loader.exec_module(module)  # compiles the file's bytes, which its declaration decodes
        else:
            exec(code_object, module.__dict__)  # what exec_module does, with the code object compiled above
    except HarnessTimeout:
        raise
    except BaseException as exc:  # SystemExit and friends raised by the code under test
        report.error("import", f"{prefix}{type(exc).__name__}: {exc}", _error_line(exc, filename))
        return None
    if label == "enhanced":
        report.imported = True
    return module


def resolve(module, function_name, label, report):
    func = getattr(module, function_name, None)
    if not callable(func):
        what = "is not callable" if func is not None else "is not defined"
        report.error("resolve", f"{label} code: '{function_name}' {what}")
        return None
    return func


def _candidates(annotation):
    if isinstance(annotation, str):
        return _CANDIDATES.get(annotation.strip())
    origin = typing.get_origin(annotation) or annotation
    if origin is typing.Union or origin is types.UnionType:
        arms = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _candidates(arms[0]) if len(arms) == 1 else None
    return _CANDIDATES.get(getattr(origin, "__name__", None)) if isinstance(origin, type) else None


def derive_samples(func):
    """A few calls built from type hints; [] when some required parameter cannot be derived."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return []
    try:
        hints = typing.get_type_hints(func)
    except Exception:  # unresolved forward references: fall back to the raw annotations
        hints = {}
    positional, keyword = [], []
    for param in signature.parameters.values():
        if param.default is not inspect.Parameter.empty:
            continue
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        values = _candidates(hints.get(param.name, param.annotation))
        if not values:
            return []
        target = keyword if param.kind is inspect.Parameter.KEYWORD_ONLY else positional
        target.append((param.name, values))
    count = max((len(v) for _, v in positional + keyword), default=1)
    return [
        {
            "args": [values[i % len(values)] for _, values in positional],
            "kwargs": {name: values[i % len(values)] for name, values in keyword},
        }
        for i in range(count)
    ]


def _asyncio():
    """asyncio on first need: its import is a third of a validation's CPU (~25 of ~70 ms), and few functions are async."""
    import asyncio  # noqa: PLC0415

    return asyncio


async def _collect_async(agen):
    items = []
    async for item in agen:
        items.append(item)
        if len(items) >= MAX_GENERATOR_ITEMS:
            break
    return items


def invoke(func, sample):
    """('ok', value) or ('raised', exception), with coroutines and generators driven to a value."""
    args = copy.deepcopy(sample.get("args", []))
    kwargs = copy.deepcopy(sample.get("kwargs", {}))
    try:
        result = func(*args, **kwargs)
        if inspect.iscoroutine(result):
            result = _asyncio().run(result)
        elif inspect.isgenerator(result):
            result = list(itertools.islice(result, MAX_GENERATOR_ITEMS))
        elif inspect.isasyncgen(result):
            result = _asyncio().run(_collect_async(result))
        return ("ok", result)
    except (HarnessTimeout, CallTimeout):
        raise
    except BaseException as exc:  # SystemExit/KeyboardInterrupt from the code under test are outcomes too
        return ("raised", exc)


def _same_value(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a) and math.isnan(b):
        return True
    try:
        return bool(a == b)
    except Exception:
        return False


def same_outcome(original, enhanced):
    if original[0] != enhanced[0]:
        return False
    if original[0] == "ok":
        return _same_value(original[1], enhanced[1])
    return type(original[1]) is type(enhanced[1]) and str(original[1]) == str(enhanced[1])


def _describe(outcome):
    kind, value = outcome
    return _safe_repr(value) if kind == "ok" else f"raised {_safe_repr(value)}"


def _signature(func):
    try:
        return str(inspect.signature(func))
    except (TypeError, ValueError):
        return None


def check_interface(original, enhanced, report):
    """Behaviour preservation starts with the interface: same signature, docstring and name."""
    for what, get in (("signature", _signature), ("docstring", inspect.getdoc), ("name", lambda f: getattr(f, "__name__", None))):
        want, got = get(original), get(enhanced)
        if want != got:
            report.error("resolve", f"the enhanced function changed its {what}: {_safe_repr(want)} became {_safe_repr(got)}")


def _exhausted(outcome, label, index, report):
    """The sandbox's own limits are no behaviour to compare: hitting them fails the run with the reason."""
    if outcome[0] == "raised" and isinstance(outcome[1], (MemoryError, RecursionError)):
        what = "memory limit" if isinstance(outcome[1], MemoryError) else "recursion limit"
        report.error("run", f"the {label} code exceeded the sandbox's {what} on sample {index}")


def run_samples(original, enhanced, samples, report):
    rule_error = getattr(_runtime(), "PoetRuleError", None)
    for index, sample in enumerate(samples):
        report.activity = f"running the original on sample {index}"
        expected = invoke(original, sample)
        _exhausted(expected, "original", index, report)
        report.activity = f"running the enhanced code on sample {index}"
        actual = invoke(enhanced, sample)
        _exhausted(actual, "enhanced", index, report)
        report.compared("samples", sample, expected, actual, rule_error)


def _expected_outcome(example, outcome):
    """Whether `outcome` is what a feedback example expects: an equal JSON value, or an exception of that class
    (or a subclass) with that message."""
    if "raises" in example:
        wanted = example["raises"]
        return (
            outcome[0] == "raised"
            and any(cls.__name__ == wanted["type"] for cls in type(outcome[1]).__mro__)
            and ("message" not in wanted or str(outcome[1]) == wanted["message"])
        )
    if outcome[0] != "ok":
        return False
    try:
        # JSON has no tuples: a result is compared as JSON would carry it.
        return json.loads(json.dumps(outcome[1], allow_nan=False)) == example["expected"]
    except (TypeError, ValueError, RecursionError):
        return False


def run_examples(enhanced, examples, report):
    """Feedback examples: regression tests from users, each of which the enhanced function must pass."""
    for index, example in enumerate(examples):
        report.activity = f"running feedback example {index}"
        call = {"args": example.get("args", []), "kwargs": example.get("kwargs", {})}
        actual = invoke(enhanced, call)
        report.inputs["feedback"] += 1
        if _expected_outcome(example, actual):
            report.agreed += 1
            continue
        wanted = example.get("expected") if "raises" not in example else example["raises"]
        report.mismatches.append({
            "sample": {"feedback_example": index, **call},
            "original": _truncate(f"expected {_safe_repr(wanted)}" if "raises" not in example else f"expected to raise {_safe_repr(wanted)}", MAX_REPR),
            "enhanced": _describe(actual),
        })


# ---- evidence: doctests and generated inputs ---------------------------------------------------------

def _optionflags(example):
    flags = 0
    for flag, enabled in example.options.items():
        flags = flags | flag if enabled else flags & ~flag
    return flags


def _run_example(example, globs):
    """('ok', printed) or ('raised', exception, printed) of one doctest example run in `globs`."""
    import contextlib  # noqa: PLC0415
    import io  # noqa: PLC0415

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        try:
            exec(compile(example.source, "<doctest>", "single", dont_inherit=True), globs)
        except (HarnessTimeout, CallTimeout):
            raise
        except BaseException as exc:  # noqa: BLE001 - an example's exception is its outcome
            return ("raised", exc, printed.getvalue())
    return ("ok", None, printed.getvalue())


def _example_passes(example, outcome):
    """What doctest itself would decide: the printed output, or the exception line, against the expected text."""
    import doctest  # noqa: PLC0415
    import traceback  # noqa: PLC0415

    checker, flags = doctest.OutputChecker(), _optionflags(example)
    if outcome[0] == "ok":
        return example.exc_msg is None and checker.check_output(example.want, outcome[2], flags)
    if example.exc_msg is None or isinstance(outcome[1], CallTimeout):
        return False
    got = traceback.format_exception_only(type(outcome[1]), outcome[1])[-1]
    if checker.check_output(example.exc_msg, got, flags):
        return True
    # IGNORE_EXCEPTION_DETAIL: the exception's name alone
    detail = flags & doctest.IGNORE_EXCEPTION_DETAIL
    return bool(detail) and got.split(":")[0].split(".")[-1] == example.exc_msg.split(":")[0].split(".")[-1]


def _doctest_calls(examples, function_name):
    """Literal calls of the function in the examples ({args, kwargs}): their values seed the generated inputs."""
    calls = []
    for example in examples:
        try:
            tree = ast.parse(example.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == function_name:
                try:
                    args = [ast.literal_eval(a) for a in node.args]
                    kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg is not None}
                except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                    continue
                calls.append({"args": args, "kwargs": kwargs})
    return calls


def run_doctests(original_module, enhanced_module, original, report, deadline):
    """The function's own doctests on both modules: an example that passes on the original must pass on the
    enhanced code. Returns the literal calls found in them."""
    doc = getattr(original, "__doc__", None)
    if not isinstance(doc, str) or ">>>" not in doc:
        return []
    import doctest  # noqa: PLC0415

    try:
        examples = doctest.DocTestParser().get_examples(doc)
    except ValueError:
        return []
    report.activity = "running the doctests"
    globs = {"original": dict(original_module.__dict__), "enhanced": dict(enhanced_module.__dict__)}
    for index, example in enumerate(examples):
        if time.monotonic() > deadline:
            break
        outcomes = {}
        for label, namespace in globs.items():
            try:
                outcomes[label] = bounded(lambda: _run_example(example, namespace), CALL_BUDGET_S * 4)
            except CallTimeout as exc:
                outcomes[label] = ("raised", exc, "")
        report.inputs["doctests"] += 1
        passed = {label: _example_passes(example, outcome) for label, outcome in outcomes.items()}
        if passed["original"] and not passed["enhanced"]:
            got = outcomes["enhanced"]
            report.mismatches.append({
                "sample": {"doctest": index, "source": _truncate(example.source.strip(), MAX_REPR)},
                "original": _truncate(example.want or example.exc_msg or "", MAX_REPR),
                "enhanced": _truncate(got[2] if got[0] == "ok" else f"raised {_safe_repr(got[1])}", MAX_REPR),
            })
        else:
            report.agreed += 1
    return _doctest_calls(examples, original.__name__)


_NAN, _INF = float("nan"), float("inf")
_EDGES = {
    "int": [0, 1, -1, 2, 7, -13, 255, 10**6, -(10**6), 2**31, 2**63, -(2**63)],
    "float": [0.0, -0.0, 0.5, -2.5, 1.0, 3.14159, 1e-9, 1e300, -1e300, _NAN, _INF, -_INF],
    "str": ["", "a", "abc", "Hello, World!", "100", "3.5", " ", "  padded  ", "\u00e9\u65e5\u672c", "a" * 300, "None", "-1"],
    "bool": [False, True],
    "list": [[], [0], [1, 2, 3], [-5, 5, 0], [1.5, -2.5], ["a", "b"], [[1], [2]], [None]],
    "dict": [{}, {"a": 1}, {"x": 1.5, "y": -2}, {"": None}],
    "tuple": [(), (1,), (1, 2), ("a", 1)],
    "set": [set(), {1, 2}],
    "bytes": [b"", b"abc", b"\x00\xff"],
}
# Values of every kind, for parameters without a usable annotation and as wrong types for those with one.
_ANY = [0, 1, -1, 2.5, _NAN, "", "abc", [], [1, 2], {}, {"a": 1}, (), None, True, b"x"]


def _kind(annotation):
    """('int', allows_none) for what an annotation names simply; (None, True) when nothing usable is named."""
    if isinstance(annotation, str):
        text = annotation.replace("typing.", "").strip()
        optional = text.startswith("Optional[") or "None" in text
        name = text.removeprefix("Optional[").rstrip("]").split("|")[0].split("[")[0].strip()
        return (name if name in _EDGES else None), optional or name not in _EDGES
    origin = typing.get_origin(annotation) or annotation
    if origin is typing.Union or origin is types.UnionType:
        arms = [a for a in typing.get_args(annotation) if a is not type(None)]
        kind = _kind(arms[0])[0] if len(arms) == 1 else None
        return kind, True
    name = getattr(origin, "__name__", None) if isinstance(origin, type) else None
    return (name if name in _EDGES else None), name not in _EDGES


_ALPHABET = "abcXYZ019 _-.,:/@\u00e9\u00df\u4e2d"


def _random_value(kind, rng):
    """A random value of a kind _EDGES names; of a random simple kind when `kind` is None."""
    kind = kind or rng.choice(("int", "float", "str", "list"))
    if kind == "int":
        # Huge values are among the edge values already; drawn often, they would spend the budget on slow calls.
        return rng.choice((rng.randint(-10, 10), rng.randint(-1000, 1000)))
    if kind == "float":
        return rng.choice((rng.uniform(-1, 1), rng.uniform(-1000, 1000), rng.gauss(0, 1e6)))
    if kind == "str":
        return "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 12)))
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "bytes":
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 8)))
    items = [_random_value(rng.choice(("int", "int", "float", "str")), rng) for _ in range(rng.randint(0, 6))]
    if kind == "dict":
        return {str(item): index for index, item in enumerate(items)}
    if kind == "set":
        return {rng.randint(-50, 50) for _ in items}
    return tuple(items) if kind == "tuple" else items


def _pools(func, seeds):
    """Per parameter: (param, values to draw from, kind), edge values first; None when the signature cannot be read."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    try:
        hints = typing.get_type_hints(func)
    except Exception:  # noqa: BLE001 - unresolved forward references: the raw annotations
        hints = {}
    positions = [p for p in signature.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    pools = []
    for param in signature.parameters.values():
        if param.kind is param.VAR_KEYWORD:
            continue
        kind, allows_none = _kind(hints.get(param.name, param.annotation)) if param.annotation is not param.empty else (None, True)
        values = list(_EDGES[kind]) + [v for v in _ANY if not isinstance(v, type(_EDGES[kind][0]))][:5] if kind else list(_ANY)
        if allows_none or kind is None:
            values.append(None)
        if param.default is not param.empty:
            values.insert(0, param.default)
        index = positions.index(param) if param in positions else None
        for call in seeds:
            if index is not None and index < len(call["args"]):
                values.insert(0, call["args"][index])
            if param.name in call["kwargs"]:
                values.insert(0, call["kwargs"][param.name])
        pools.append((param, values, kind))
    return pools


def _call_of(pools, choose, only=None):
    """One call drawn from the pools. An optional parameter is left out (it keeps its default) half the time, or,
    with `only`, unless it is that parameter."""
    args, kwargs, by_name = [], {}, False
    for index, (param, values) in enumerate(pools):
        if param.kind is param.VAR_POSITIONAL:
            if not by_name:
                args.extend(choose(values) for _ in range(choose((0, 1, 2))))
            continue
        if param.default is not param.empty and (index != only if only is not None else choose((False, True))):
            # Positional parameters after a left-out one can only be passed by name.
            by_name = by_name or param.kind is not param.KEYWORD_ONLY
            continue
        if param.kind is param.KEYWORD_ONLY or (by_name and param.kind is param.POSITIONAL_OR_KEYWORD):
            kwargs[param.name] = choose(values)
        elif not by_name:
            args.append(choose(values))
        # else: positional-only after a left-out one, which has a default too and keeps it
    return {"args": args, "kwargs": kwargs}


def _generated_calls(pools, rng, samples):
    """Edge values first (each parameter through its pool, the others at their first value), then random draws;
    none that repeats a sample."""
    seen = {_safe_repr({"args": list(s.get("args", [])), "kwargs": dict(s.get("kwargs", {}))}) for s in samples}

    def fresh(call):
        key = _safe_repr(call)
        if key in seen:
            return False
        seen.add(key)
        return True

    for index, (_, values, _) in enumerate(pools):
        for value in values:
            call = _call_of([(p, [value] if i == index else v[:1]) for i, (p, v, _) in enumerate(pools)], lambda options: options[0], index)
            if fresh(call):
                yield call
    # Then the pools half the time, fresh random values of the parameter's kind the other half.
    for _ in range(GENERATED_INPUTS * 5):
        call = _call_of([(p, v if rng.random() < 0.5 else [_random_value(k, rng)]) for p, v, k in pools], rng.choice)
        if fresh(call):
            yield call


def _call_text(name, call):
    parts = [_safe_repr(a) for a in call["args"]] + [f"{k}={_safe_repr(v)}" for k, v in call["kwargs"].items()]
    return _truncate(f"{name}({', '.join(parts)})", MAX_REPR)


def _reproducible(original, call, expected):
    try:
        return same_outcome(expected, bounded(lambda: invoke(original, call), CALL_BUDGET_S))
    except CallTimeout:
        return False


def _limit_hit(outcome):
    return outcome[0] == "raised" and isinstance(outcome[1], (MemoryError, RecursionError))


def run_generated(original, enhanced, samples, seeds, report, deadline):
    """Up to GENERATED_INPUTS calls from the type hints, defaults and doctest values, edge values and wrong types
    among them; original and enhanced must agree on each. One mismatch is kept: the one with the shortest call."""
    pools = _pools(original, seeds)
    if pools is None:
        return
    rule_error = getattr(_runtime(), "PoetRuleError", None)
    rng = random.Random(zlib.crc32(original.__name__.encode()))
    report.activity = "running generated inputs"
    failing, smallest = 0, None
    report.exhaustive = True
    for call in _generated_calls(pools, rng, samples):
        if report.inputs["generated"] >= GENERATED_INPUTS or time.monotonic() > deadline:
            report.exhaustive = False
            break
        try:
            expected = bounded(lambda: invoke(original, call), CALL_BUDGET_S)
            actual = None if _limit_hit(expected) else bounded(lambda: invoke(enhanced, call), CALL_BUDGET_S * 2)
        except CallTimeout:
            actual = None
        if actual is None or _limit_hit(actual):
            report.inconclusive += 1
            continue
        if not same_outcome(expected, actual) and not _reproducible(original, call, expected):
            # The original itself answers otherwise the second time (state, descriptors, time): no evidence.
            report.inconclusive += 1
            continue
        before = len(report.mismatches)
        if not report.compared("generated", {"generated": _call_text(original.__name__, call)}, expected, actual, rule_error) and len(report.mismatches) > before:
            failing += 1
            finding = report.mismatches.pop()
            if smallest is None or len(finding["sample"]["generated"]) < len(smallest["sample"]["generated"]):
                smallest = finding
    if smallest is not None:
        smallest["sample"]["failing_inputs"] = failing
        report.mismatches.append(smallest)


def _json_safe(value):
    return json.loads(json.dumps(value, default=_safe_repr))


def _importable(name):
    """Whether `name`, a module or a distribution (PyYAML for yaml), is installed for this interpreter."""
    import importlib.metadata  # noqa: PLC0415 - only requests that declare dependencies need it

    module = name.strip()
    try:
        if importlib.util.find_spec(module) is not None:
            return True
    except (ImportError, ValueError):
        pass
    try:
        importlib.metadata.distribution(module)
        return True
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return False


def check_dependencies(dependencies, report):
    """Each declared dependency, checked before any code runs: a missing one fails with its name."""
    for name in dependencies:
        if not _importable(name):
            report.error("dependency", f"dependency {name!r} is not installed for the sandbox's interpreter ({sys.version.split()[0]})")
    return not report.errors


def validate(request, report):
    function_name = request["function_name"]
    if not check_dependencies(request.get("dependencies") or [], report):
        return
    tree = parse(request["enhanced_code"])
    report.findings, report.ceiling = scan(tree)
    if report.ceiling == "blocked":
        for finding in report.findings:
            if finding["severity"] == "blocked":
                report.error("scan", f"blocked: {finding['message']}", finding["line"])
        return  # never executed
    enhanced_module = load_module("enhanced", "enhanced", request["enhanced_code"], report, tree)
    del tree  # its memory is the code under test's again, as when the scan parsed on its own
    original_module = load_module("original", "original", request["original_code"], report)
    if enhanced_module is None or original_module is None:
        return
    enhanced = resolve(enhanced_module, function_name, "enhanced", report)
    original = resolve(original_module, function_name, "original", report)
    if enhanced is None or original is None:
        return
    check_interface(original, enhanced, report)
    samples = request.get("samples")
    if samples is None:
        samples = derive_samples(original)
    run_samples(original, enhanced, samples, report)
    run_examples(enhanced, request.get("examples") or [], report)
    # Doctests and generated inputs share a budget, within what the validation's own wall clock leaves.
    started = time.monotonic()
    budget = request.get("evidence_budget_s")
    budget = EVIDENCE_BUDGET_S if budget is None else float(budget)
    deadline = started + min(budget, max(signal.getitimer(signal.ITIMER_REAL)[0] - 1.0, 0.0))
    seeds = run_doctests(original_module, enhanced_module, original, report, deadline)
    run_generated(original, enhanced, samples, seeds, report, deadline)
    report.evidence_ms = (time.monotonic() - started) * 1000


def run(load_request):
    """One validation in this process, which it ends: the JSON result on fd 1, whatever else is printed on fd 2.

    load_request() returns the request; a failure there still gets a JSON answer.
    """
    report = Report()
    real_stdout = os.fdopen(os.dup(1), "w", encoding="utf-8")
    # Whatever the code under test prints must not corrupt the JSON answer.
    os.dup2(2, 1)
    try:
        request = load_request()
        timeout_s = float(request.get("timeout_s", 5.0))
        set_limits(timeout_s, int(request.get("memory_mb", 256)))
        _deny_network()
        workdir = tempfile.mkdtemp(prefix="poet-sandbox-")
        os.chdir(workdir)
        _guard(workdir)
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        try:
            validate(request, report)
        except HarnessTimeout:
            report.error("run", f"timed out after {timeout_s:g}s (wall clock) while {report.activity}")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            shutil.rmtree(workdir, ignore_errors=True)
    except Exception as exc:  # a broken request still gets a JSON answer
        report.error("run", f"harness failure: {type(exc).__name__}: {exc}")
    report.mismatches = _json_safe(report.mismatches)
    report.declared_rules = _json_safe(report.declared_rules)
    real_stdout.write(json.dumps(report.result()))
    real_stdout.flush()
    # Threads left running by a timed-out call would otherwise block interpreter exit.
    os._exit(0)


def read_request():
    """The request on fd 0, read to its end."""
    chunks = []
    while chunk := os.read(0, 1 << 16):
        chunks.append(chunk)
    return json.loads(b"".join(chunks).decode("utf-8"))


def probe():
    """What the isolation gave this process, as JSON on fd 1: the worker checks it before any validation."""
    status = {}
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            status = dict(line.split(":\t", 1) for line in handle.read().splitlines() if ":\t" in line)
    except OSError:
        pass
    import socket  # noqa: PLC0415 - only the probe needs it

    facts = {
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "uid": os.getuid(),
        "gid": os.getgid(),
        "cap_eff": status.get("CapEff", "").strip(),
        "no_new_privs": status.get("NoNewPrivs", "").strip(),
        "seccomp": status.get("Seccomp", "").strip(),
        "interfaces": sorted(name for _, name in socket.if_nameindex()),
        "tmp_writable": os.access(tempfile.gettempdir(), os.W_OK),
    }
    sys.stdout.write(json.dumps(facts))
    sys.stdout.flush()
    os._exit(0)


def main(argv):
    """`sandbox.py SETTINGS [--probe]`: one validation (or the probe), isolated unless SETTINGS say otherwise."""
    settings = json.loads(argv[1])
    isolated = settings.get("isolation", "namespaces") != "none"
    # Beside this file, which `-I` leaves off sys.path: the code under test should not find it there either.
    # poet_runtime is imported now, while the directory is on the path: the enhanced module finds it in sys.modules.
    # No __pycache__ is written next to the sources, as none is by the fork server.
    sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
    sys.dont_write_bytecode = True
    import poet_runtime  # noqa: PLC0415, F401

    if isolated:
        import isolation  # noqa: PLC0415
    del sys.path[0]
    sys.dont_write_bytecode = False
    if isolated:
        try:
            pid = isolation.fork_isolated(isolation.prepare(settings["disk_bytes"]))
        except isolation.IsolationError as exc:
            sys.stderr.write(f"{ISOLATION_FAILED_PREFIX}{exc}\n")
            sys.stderr.flush()
            os._exit(ISOLATION_FAILED)
        if pid:
            isolation.exit_as(os.waitpid(pid, 0)[1])
    if "--probe" in argv:
        probe()
    run(read_request)


if __name__ == "__main__":
    main(sys.argv)
