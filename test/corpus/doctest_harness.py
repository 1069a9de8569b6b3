"""Runs corpus functions' own doctests on their original module and on their POET-enhanced module, in one process.

stdin: {"runtime_dir": <dir holding poet_runtime>, "cases": [{"id", "module", "function", "original", "enhanced"}]}
stdout: one JSON list, per case {"id", "shapes", "mismatches", "examples": [{"source", "original", "enhanced"}], "error"?}
where an outcome is {"ok": true} or {"ok": false, "got": <text>, "rule": <bool: the enhanced module raised a
PoetRuleError>}; `shapes` tags how the function is written (SHAPES); `mismatches` counts the annotation mismatches
the runtime observed while the doctests ran (an annotation the function's own examples disagree with).

Each module is executed under the name `python3 -m doctest` would give it (the file's stem), so module-qualified
exception names in the expected output read the same; the examples always come from the original's docstring.
"""

import contextlib
import ast
import doctest
import json
import os
import sys
import traceback
import types

RULE_ERROR = None

SHAPES = (
    "own_checks", "generator", "async", "recursion", "var_args", "var_kwargs", "mutable_default", "closure",
    "decorator", "class_beside", "module_constant",
)


def shapes(code, name):
    """Which of SHAPES the function `name` of `code` has, read from its syntax."""
    tree = ast.parse(code)
    fn = next(n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name)
    inner = [node for statement in fn.body for node in ast.walk(statement)]
    defaults = [*fn.args.defaults, *(d for d in fn.args.kw_defaults if d is not None)]
    raised = {n.id for r in inner if isinstance(r, ast.Raise) and r.exc is not None for n in ast.walk(r.exc) if isinstance(n, ast.Name)}
    constants = [t for n in tree.body if isinstance(n, ast.Assign) for t in n.targets] + [n.target for n in tree.body if isinstance(n, ast.AnnAssign)]
    found = {
        "own_checks": bool(raised & {"TypeError", "ValueError"}),
        "generator": any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in inner),
        "async": isinstance(fn, ast.AsyncFunctionDef),
        "recursion": any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name for n in inner),
        "var_args": fn.args.vararg is not None,
        "var_kwargs": fn.args.kwarg is not None,
        "mutable_default": any(isinstance(d, (ast.List, ast.Dict, ast.Set)) for d in defaults),
        "closure": any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) for n in inner),
        "decorator": bool(fn.decorator_list),
        "class_beside": any(isinstance(n, ast.ClassDef) for n in tree.body),
        "module_constant": any(isinstance(t, ast.Name) and t.id.isupper() for t in constants),
    }
    return [shape for shape in SHAPES if found[shape]]


class _Recorder(doctest.DocTestRunner):
    """Keeps the outcome of every example, by its index, instead of printing a report."""

    def __init__(self, examples):
        super().__init__(verbose=False)
        self.index = {id(example): i for i, example in enumerate(examples)}
        self.outcomes = [{"ok": False, "got": "not run", "rule": False}] * len(examples)

    def report_start(self, out, test, example):
        pass

    def report_success(self, out, test, example, got):
        self.outcomes[self.index[id(example)]] = {"ok": True}

    def report_failure(self, out, test, example, got):
        # A wrong exception reaches here as its formatted traceback: its last line names the class and message.
        if got.startswith("Traceback"):
            got = got.strip().splitlines()[-1]
        rule = got.startswith("poet_runtime.Poet")
        self.outcomes[self.index[id(example)]] = {"ok": False, "got": got[-600:], "rule": rule}

    def report_unexpected_exception(self, out, test, example, exc_info):
        line = traceback.format_exception_only(exc_info[0], exc_info[1])[-1].strip()
        rule = RULE_ERROR is not None and isinstance(exc_info[1], RULE_ERROR)
        self.outcomes[self.index[id(example)]] = {"ok": False, "got": line[-600:], "rule": rule}


@contextlib.contextmanager
def _module(name, code):
    """The module as an import would leave it; sys.modules holds it meanwhile (dataclasses look it up there)."""
    saved = sys.modules.get(name)
    module = types.ModuleType(name)
    module.__file__ = f"{name}.py"
    sys.modules[name] = module
    try:
        exec(compile(code, module.__file__, "exec"), module.__dict__)
        yield module
    finally:
        if saved is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = saved


def _outcomes(case, code, docstring):
    """Outcome per example of `docstring`, run in a fresh copy of the module's globals as doctest does, and the
    function's poet_stats afterwards (None for the original)."""
    with _module(case["module"], code) as module:
        test = doctest.DocTestParser().get_doctest(docstring, dict(module.__dict__), case["function"], module.__file__, 0)
        runner = _Recorder(test.examples)
        runner.run(test, out=lambda _text: None)
        stats = getattr(getattr(module, case["function"]), "poet_stats", None)
        return [example.source.strip() for example in test.examples], runner.outcomes, stats


def run_case(case):
    with _module(case["module"], case["original"]) as module:
        docstring = getattr(module, case["function"]).__doc__ or ""
    sources, original, _ = _outcomes(case, case["original"], docstring)
    _, enhanced, stats = _outcomes(case, case["enhanced"], docstring)
    return {
        "id": case["id"],
        "shapes": shapes(case["original"], case["function"]),
        "mismatches": stats["type_mismatches"] + stats["return_mismatches"],
        "examples": [
            {"source": source, "original": before, "enhanced": after}
            for source, before, after in zip(sources, original, enhanced)
        ],
    }


def main():
    global RULE_ERROR
    request = json.load(sys.stdin)
    sys.path.insert(0, request["runtime_dir"])
    import poet_runtime  # noqa: PLC0415 - from the directory the request names

    RULE_ERROR = poet_runtime.PoetRuleError
    # Whatever the corpus prints outside its doctests goes to stderr: stdout carries only the answer.
    answer = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    results = []
    for case in request["cases"]:
        try:
            results.append(run_case(case))
        except Exception:  # noqa: BLE001 - one broken case is reported, the others still run
            results.append({"id": case["id"], "examples": [], "error": traceback.format_exc()[-2000:]})
    json.dump(results, answer)
    answer.close()


if __name__ == "__main__":
    main()
