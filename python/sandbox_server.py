"""Warm fork server for sandbox.py: one python3 that has done the imports forks a child per validation.

Run as `python3 -I -S sandbox_server.py` with the environment a one-shot sandbox.py gets. Requests on stdin, one
JSON object a line: {"id": n, "workdir": dir}, where workdir/request.json holds what sandbox.py reads on its stdin.
The server never reads a request itself: its memory, which every child inherits, holds no one else's code.
Answers on stdout, one JSON object a line: {"ready": true} once the imports are done; per request
{"id": n, "pid": p} as soon as its child exists, then {"id": n, "code": c, "signal": name} when the child has
ended, or {"id": n, "error": message} when it could not be forked.
The child is a one-shot sandbox.py in all but its start: its own session, `workdir` as its working directory,
stdin /dev/null, stdout and stderr in the files workdir/stdout and workdir/stderr, no other descriptor of the
server. When a child ends the server kills what is left of its session's process group. When stdin closes the
server kills every child's group and exits.
"""

import gc
import json
import os
import selectors
import signal
import sys
import traceback

# -I leaves the script's directory out of sys.path; the code under test should not find it there either.
# No __pycache__ is written next to the sources, as none is by the one-shot run.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sandbox  # noqa: E402

del sys.path[0]
sys.dont_write_bytecode = False

# What every template enhancement imports (PYTHON_IMPORTS in src/poet/template.ts) and what the harness imports
# only on first need: imported once here, each child finds them in sys.modules instead of importing them again.
import asyncio  # noqa: E402, F401
import collections  # noqa: E402, F401
import contextlib  # noqa: E402, F401
import contextvars  # noqa: E402, F401
import functools  # noqa: E402, F401
import logging  # noqa: E402, F401
import re  # noqa: E402, F401
import threading  # noqa: E402, F401

_CHILD_FAILED = 70
_OUTPUT_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC


def _send(message):
    data = (json.dumps(message) + "\n").encode("utf-8")
    while data:
        data = data[os.write(1, data):]


def _load_request():
    with open("request.json", encoding="utf-8") as handle:
        return json.load(handle)


def _child(workdir):
    """Runs in the forked child and never returns."""
    try:
        os.setsid()
        os.chdir(workdir)
        streams = (os.open(os.devnull, os.O_RDONLY), os.open("stdout", _OUTPUT_FLAGS, 0o600), os.open("stderr", _OUTPUT_FLAGS, 0o600))
        for target, fd in enumerate(streams):
            os.dup2(fd, target)
        # Nothing of the server's (its pipes to Node, the wakeup pipe, the selector) stays reachable.
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        sandbox.run(_load_request)
    except BaseException:  # noqa: BLE001 - whatever happens, this process must not return into the server's loop
        traceback.print_exc()
        sys.stderr.flush()
    os._exit(_CHILD_FAILED)


def _start(line, children):
    try:
        message = json.loads(line)
        rid, workdir = message["id"], message["workdir"]
    except (ValueError, KeyError, TypeError) as exc:
        sys.stderr.write(f"sandbox server: unreadable request: {exc}\n")
        sys.stderr.flush()
        return
    sys.stderr.flush()
    try:
        pid = os.fork()
    except OSError as exc:
        _send({"id": rid, "error": f"fork failed: {exc}"})
        return
    if pid == 0:
        _child(workdir)
    children[pid] = rid
    _send({"id": rid, "pid": pid})


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass  # the group is already empty


def _drain(fd):
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass


def _reap(children):
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        rid = children.pop(pid, None)
        if rid is None:
            continue
        # Whatever the code under test forked dies with it, as the one-shot harness's group dies with Node's kill.
        _kill_group(pid)
        if os.WIFSIGNALED(status):
            _send({"id": rid, "code": None, "signal": signal.Signals(os.WTERMSIG(status)).name})
        else:
            _send({"id": rid, "code": os.WEXITSTATUS(status), "signal": None})


def serve():
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    children = {}
    buffered = b""
    # Objects alive now are never collected: children skip them instead of touching (copying) their pages.
    gc.freeze()
    _send({"ready": True})
    try:
        while True:
            for key, _ in selector.select():
                if key.fd == wake_r:
                    _drain(wake_r)
                    _reap(children)
                    continue
                data = os.read(0, 1 << 16)
                if not data:
                    return
                *lines, buffered = (buffered + data).split(b"\n")
                for line in lines:
                    if line.strip():
                        _start(line, children)
    finally:
        for pid in children:
            _kill_group(pid)


if __name__ == "__main__":
    serve()
