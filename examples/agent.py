#!/usr/bin/env python3
"""An agent's loop with poet-client: enhance a function from a file, run the enhanced module, report how it went.

    export POET_URL=http://127.0.0.1:8080 POET_API_KEY=...     # no key under `npm start`
    python3 examples/agent.py ratio.py '[6, 3]' '[1, 0]'          # each argument: one call's positional arguments

The stages of the run go to stderr as they happen; then each call's outcome, and what the feedback led to (a failing
call reports an error, and the service may answer with a new version).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
# The client, and the poet_runtime package every enhanced module imports (the version's metadata names which release).
sys.path[:0] = [os.path.join(ROOT, "clients", "python"), os.path.join(ROOT, "python")]

from poet_client import Client, EnhanceResult  # noqa: E402


def load_module(result: EnhanceResult, directory: str):
    """The enhanced code as a module of its own, imported like any other file."""
    path = os.path.join(directory, f"{result.function_name}_v{result.version}.py")
    with open(path, "w", encoding="utf-8") as out:
        out.write(result.python)
    spec = importlib.util.spec_from_file_location(f"{result.function_name}_v{result.version}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="a Python file defining the function")
    parser.add_argument("calls", nargs="+", help="JSON lists of positional arguments, one per call")
    parser.add_argument("--function", help="the function's name (default: the file's one top-level function)")
    parser.add_argument("--domain", help="POET domain, e.g. computation (default: base_reliability)")
    args = parser.parse_args()

    poet = Client(os.environ.get("POET_URL", "http://127.0.0.1:8080"), os.environ.get("POET_API_KEY"))
    with open(args.file, encoding="utf-8") as source:
        code = source.read()

    run = poet.enhance(code, args.function, args.domain, wait=False)
    for stage in run.watch():
        print(f"{run.id} {stage.stage}" + (f": {stage.detail}" if stage.detail else ""), file=sys.stderr)
    result = run.result()
    meta = result.metadata
    print(f"{result.function_name} v{result.version}: safety {meta.safety_level}, cache {meta.cache}, provider {meta.provider}")

    failures, seconds = [], 0.0
    with tempfile.TemporaryDirectory() as directory:
        function = getattr(load_module(result, directory), result.function_name)
        for call in args.calls:
            arguments = json.loads(call)
            started = time.perf_counter()
            try:
                print(f"{result.function_name}{tuple(arguments)} = {function(*arguments)!r}")
            except Exception as exc:  # the agent reports what its calls raise; it does not stop at the first
                failures.append(f"{type(exc).__name__}: {exc}")
                print(f"{result.function_name}{tuple(arguments)} raised {failures[-1]}")
            seconds += time.perf_counter() - started

    calls = len(args.calls)
    outcome = poet.feedback(
        result.function_name,
        result.version,
        "error" if failures else "performance",
        metrics={"success_rate": (calls - len(failures)) / calls, "error_rate": len(failures) / calls, "avg_duration": seconds / calls},
        comments="; ".join(failures)[:5000] or None,
    )
    print(f"feedback: {outcome.status}" + (f", new version {outcome.new_version}: {outcome.update_reason}" if outcome.new_version else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
