"""Long-lived Python source analyzer for poet-service.

Protocol: one JSON request per stdin line, {"id": int, "code": str}; one JSON
response per stdout line, in request order. See src/contracts/analysis.ts.
Standard library only: it runs under `python3 -I -S`.
"""

import ast
import hashlib
import json
import sys

_KIND_POSITIONAL_ONLY = "positional_only"
_KIND_POSITIONAL_OR_KEYWORD = "positional_or_keyword"
_KIND_VAR_POSITIONAL = "var_positional"
_KIND_KEYWORD_ONLY = "keyword_only"
_KIND_VAR_KEYWORD = "var_keyword"

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_DOCSTRING_OWNERS = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _source(node):
    return None if node is None else ast.unparse(node)


def _param(arg, kind, default):
    return {
        "name": arg.arg,
        "kind": kind,
        "annotation": _source(arg.annotation),
        "default": _source(default),
    }


def _params(args):
    positional = args.posonlyargs + args.args
    # Defaults belong to the last len(defaults) positional parameters.
    padded = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    params = []
    for index, arg in enumerate(positional):
        kind = _KIND_POSITIONAL_ONLY if index < len(args.posonlyargs) else _KIND_POSITIONAL_OR_KEYWORD
        params.append(_param(arg, kind, padded[index]))
    if args.vararg is not None:
        params.append(_param(args.vararg, _KIND_VAR_POSITIONAL, None))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults):
        params.append(_param(arg, _KIND_KEYWORD_ONLY, default))
    if args.kwarg is not None:
        params.append(_param(args.kwarg, _KIND_VAR_KEYWORD, None))
    return params


def _is_generator(func):
    """True when `func` itself yields; yields inside nested scopes belong to those scopes."""
    stack = list(func.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        if isinstance(node, _SCOPES):
            # Decorators, defaults and annotations of a nested scope still run in ours.
            stack.extend(getattr(node, "decorator_list", []))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                stack.extend(node.args.defaults)
                stack.extend(d for d in node.args.kw_defaults if d is not None)
            continue
        stack.extend(ast.iter_child_nodes(node))
    return False


def _function(func):
    return {
        "name": func.name,
        "is_async": isinstance(func, ast.AsyncFunctionDef),
        "is_generator": _is_generator(func),
        "lineno": func.lineno,
        "end_lineno": func.end_lineno,
        "params": _params(func.args),
        "returns": _source(func.returns),
        "docstring": ast.get_docstring(func, clean=True),
        "decorators": [ast.unparse(d) for d in func.decorator_list],
    }


def _strip_docstrings(tree):
    for node in ast.walk(tree):
        if isinstance(node, _DOCSTRING_OWNERS) and ast.get_docstring(node, clean=False) is not None:
            node.body = node.body[1:] or [ast.Pass()]
    return tree


def _normalized_hash(code):
    dump = ast.dump(_strip_docstrings(ast.parse(code)), annotate_fields=True, include_attributes=False)
    return hashlib.sha256(dump.encode("utf-8")).hexdigest()


def _error(request_id, message, line=None, column=None):
    return {"id": request_id, "ok": False, "error": {"message": message, "line": line, "column": column}}


def analyze(request_id, code):
    try:
        tree = ast.parse(code)
        # ast.parse accepts some programs the compiler rejects ('return' outside function, ...).
        compile(tree, "<analyzed>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        return _error(request_id, exc.msg or "invalid syntax", exc.lineno or None, exc.offset or None)
    except (ValueError, RecursionError, MemoryError) as exc:
        return _error(request_id, f"{type(exc).__name__}: {exc}")
    functions = [_function(n) for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return {"id": request_id, "ok": True, "functions": functions, "normalized_hash": _normalized_hash(code)}


def handle(line):
    try:
        request = json.loads(line)
    except ValueError as exc:
        return _error(None, f"malformed request: {exc}")
    if not isinstance(request, dict):
        return _error(None, "malformed request: expected a JSON object")
    request_id = request.get("id")
    if not isinstance(request_id, int) or isinstance(request_id, bool):
        return _error(None, "malformed request: 'id' must be an integer")
    code = request.get("code")
    if not isinstance(code, str):
        return _error(request_id, "malformed request: 'code' must be a string")
    try:
        return analyze(request_id, code)
    except Exception as exc:  # the analyzer must answer every request, whatever the input
        return _error(request_id, f"analyzer failure: {type(exc).__name__}: {exc}")


def main():
    stdin = sys.stdin.buffer
    stdout = sys.stdout.buffer
    for raw in stdin:
        if not raw.strip():
            continue
        response = handle(raw.decode("utf-8", errors="replace"))
        stdout.write(json.dumps(response).encode("ascii") + b"\n")
        stdout.flush()


if __name__ == "__main__":
    main()
