"""Warm fork server for sandbox.py: one python3 that has done the imports forks a child per validation.

Run as `python3 -I sandbox_server.py SETTINGS` (SETTINGS: the JSON that sandbox.py takes, plus `stdout_cap` and
`stderr_tail`, the bytes of a child's output the worker reads) with the environment a
one-shot sandbox.py gets. Every child is isolated as a one-shot run is (isolation.py), unless SETTINGS say
"isolation": "none". While idle the server makes up to _SPARES isolated processes ahead of their request; each gets
its request's descriptors over a socketpair (SCM_RIGHTS), and its PID 1 reports the end on that channel the moment
it reaps the validation, before the namespaces are torn down.

Requests on stdin: a line {"id": n, "size": bytes}, then that many bytes, the request sandbox.py reads on its
stdin. The server moves those bytes into a memory file of that request alone with splice(2): they never enter the
server's memory, which every later child inherits, and no other validation can name that file.
Answers on stdout: a line {"ready": true} once the imports are done; per request {"id": n, "pid": p} as soon as its
child exists, then {"id": n, "code": c, "signal": name, "stdout": a, "stderr": b, "overflow": bool} followed by
a bytes of the child's stdout and b bytes (the tail) of its stderr, when it has ended;
{"id": n, "isolation": message} when the kernel refused the isolation, {"id": n, "error": message} when it could
not be forked; `pid` is the keeper of the child's namespaces (isolation.py), whose process group a kill reaches.
When a child ends the server kills what is left of its session. When stdin closes the server kills every child and
every spare, and exits.
"""

import gc
import json
import os
import selectors
import signal
import socket
import struct
import sys
import traceback

# -I leaves the script's directory out of sys.path; the code under test should not find it there either.
# No __pycache__ is written next to the sources, as none is by the one-shot run.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import isolation  # noqa: E402
# What every enhanced module imports, with the standard modules it imports: imported here, before the isolation
# hides this directory, each child finds it in sys.modules.
import poet_runtime  # noqa: E402, F401
import sandbox  # noqa: E402

del sys.path[0]
sys.dont_write_bytecode = False

# What the harness and the runtime import only on first need (async functions): imported once here instead.
import asyncio  # noqa: E402, F401

_CHILD_FAILED = 70
# Isolated processes kept ready: as many as validations usually run at once on a worker.
_SPARES = 2
_MAX_HEADER = 256


def _send(data):
    while data:
        data = data[os.write(1, data):]


def _send_message(message):
    _send((json.dumps(message) + "\n").encode("utf-8"))


def _send_file(fd, offset, count):
    while count > 0:
        sent = os.sendfile(1, fd, offset, count)
        if sent == 0:
            raise OSError("the child's output shrank while it was sent")
        offset, count = offset + sent, count - sent


def _read_header():
    """One request line, read a byte at a time: what follows it is the request, which only splice may move."""
    line = bytearray()
    while len(line) < _MAX_HEADER:
        byte = os.read(0, 1)
        if not byte:
            return None
        if byte == b"\n":
            return bytes(line)
        line += byte
    raise ValueError("request header too long")


def _splice_request(size):
    """The next `size` bytes of stdin in a fresh memory file, positioned at its start."""
    memfd = os.memfd_create("request", os.MFD_CLOEXEC)
    pipe_r, pipe_w = os.pipe()
    try:
        remaining = size
        while remaining:
            moved = os.splice(0, pipe_w, min(remaining, 1 << 16))
            if moved == 0:
                raise EOFError("stdin closed inside a request")
            remaining -= moved
            while moved:
                moved -= os.splice(pipe_r, memfd, moved)
    except BaseException:
        os.close(memfd)
        raise
    finally:
        os.close(pipe_r)
        os.close(pipe_w)
    os.lseek(memfd, 0, os.SEEK_SET)
    return memfd


def _child_bare(stdio):
    """The child without isolation (SANDBOX_ISOLATION=none): own session, the request's descriptors only."""
    pid = os.fork()
    if pid == 0:
        isolation.detach(stdio)
    return pid


def _run_child():
    """In the (isolated) child, which never returns into the server's loop."""
    try:
        sandbox.run(sandbox.read_request)
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
        sys.stderr.flush()
    os._exit(_CHILD_FAILED)


def _run_spare(channel):
    """In a spare: isolated already, it waits for its request's descriptors, then runs it and never returns."""
    try:
        sock = socket.socket(fileno=channel)
        _, fds, _, _ = socket.recv_fds(sock, 1, 3)
        # Closed before any submitted code runs: only PID 1 keeps the channel, to report the end.
        sock.close()
        if len(fds) != 3:
            os._exit(0)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
        os._exit(_CHILD_FAILED)
    _run_child()


class Running:
    """A validation the server has started and not yet reported."""

    def __init__(self, rid, out, err, channel=None):
        self.rid, self.out, self.err, self.channel = rid, out, err, channel


class Server:
    def __init__(self, settings, selector):
        self.isolated = settings.get("isolation", "namespaces") != "none"
        self.isolation = isolation.prepare(settings["disk_bytes"]) if self.isolated else None
        # The worker's limits on what it reads of a child's output: the one-shot path applies them to its pipes.
        self.stdout_cap, self.stderr_tail = settings["stdout_cap"], settings["stderr_tail"]
        self.selector = selector
        self.children = {}  # pid (keeper, or the bare child) -> Running
        # Isolated processes made ahead of their request: setting up the namespaces is off a validation's path.
        self.spares = []  # (keeper pid, channel)
        # Set when making one failed: no more attempts in the idle loop, requests then make their own.
        self.spare_failed = False
        self.null = os.open(os.devnull, os.O_RDWR)

    def _make_spare(self):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ours, theirs = ours.detach(), theirs.detach()
        try:
            pid = isolation.fork_isolated(self.isolation, (self.null, self.null, self.null), notify=theirs)
        except BaseException:
            os.close(ours)
            os.close(theirs)
            raise
        if pid == 0:
            _run_spare(theirs)
        os.close(theirs)
        return pid, ours

    def short_of_spares(self):
        return self.isolated and len(self.spares) < _SPARES and not self.spare_failed

    def replenish(self):
        """One more spare; a refusal is reported by the next request, which makes its own."""
        try:
            self.spares.append(self._make_spare())
        except (isolation.IsolationError, OSError) as exc:
            self.spare_failed = True
            sys.stderr.write(f"sandbox server: no spare: {exc}\n")
            sys.stderr.flush()

    def _dispatch(self, fds):
        """The pid and channel of an isolated process now running the request whose descriptors are `fds`."""
        while True:
            pid, channel = self.spares.pop(0) if self.spares else self._make_spare()
            self.spare_failed = False
            sock = socket.socket(fileno=channel)
            try:
                socket.send_fds(sock, [b"r"], fds)
                return pid, channel
            except OSError:
                # A spare that died while it waited: the next one, or a new one.
                _kill_group(pid)
                os.close(channel)
            finally:
                sock.detach()

    def start(self, header):
        try:
            message = json.loads(header)
            rid, size = message["id"], int(message["size"])
        except (ValueError, KeyError, TypeError) as exc:
            sys.stderr.write(f"sandbox server: unreadable request: {exc}\n")
            sys.stderr.flush()
            return False
        request = _splice_request(size)
        out = os.memfd_create("stdout", os.MFD_CLOEXEC)
        err = os.memfd_create("stderr", os.MFD_CLOEXEC)
        sys.stderr.flush()
        channel = None
        try:
            if self.isolated:
                pid, channel = self._dispatch([request, out, err])
            else:
                pid = _child_bare((request, out, err))
        except (isolation.IsolationError, OSError) as exc:
            for fd in (request, out, err):
                os.close(fd)
            refused = isinstance(exc, isolation.IsolationError)
            _send_message({"id": rid, "isolation": str(exc)} if refused else {"id": rid, "error": f"fork failed: {exc}"})
            return True
        if pid == 0:
            _run_child()
        os.close(request)
        self.children[pid] = Running(rid, out, err, channel)
        if channel is not None:
            self.selector.register(channel, selectors.EVENT_READ, pid)
        _send_message({"id": rid, "pid": pid})
        return True

    def on_channel(self, pid):
        """PID 1 of `pid`'s namespaces reported the validation's end, or went away without a report."""
        running = self.children.get(pid)
        if running is None or running.channel is None:
            return  # reaped in the same round
        data = os.read(running.channel, 16)
        self.selector.unregister(running.channel)
        os.close(running.channel)
        running.channel = None
        if len(data) == 4:
            del self.children[pid]
            self._report(running, struct.unpack("=i", data)[0])
        # Else the keeper's own end, reaped, reports it.

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            _kill_group(pid)
            running = self.children.pop(pid, None)
            if running is not None:
                if running.channel is not None:
                    self.selector.unregister(running.channel)
                    os.close(running.channel)
                self._report(running, status)
            for spare in [s for s in self.spares if s[0] == pid]:
                self.spares.remove(spare)
                os.close(spare[1])

    def _report(self, running, status):
        out, err = running.out, running.err
        try:
            out_size, err_size = os.fstat(out).st_size, os.fstat(err).st_size
            overflow = out_size > self.stdout_cap
            sent_out = 0 if overflow else out_size
            tail = min(err_size, self.stderr_tail)
            signal_name = signal.Signals(os.WTERMSIG(status)).name if os.WIFSIGNALED(status) else None
            code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
            _send_message({"id": running.rid, "code": code, "signal": signal_name, "stdout": sent_out, "stderr": tail, "overflow": overflow})
            _send_file(out, 0, sent_out)
            _send_file(err, err_size - tail, tail)
        finally:
            os.close(out)
            os.close(err)

    def kill_all(self):
        for pid in [*self.children, *(pid for pid, _ in self.spares)]:
            _kill_group(pid)


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


def serve(settings):
    selector = selectors.DefaultSelector()
    server = Server(settings, selector)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    selector.register(0, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    # Objects alive now are never collected: children skip them instead of touching (copying) their pages.
    gc.freeze()
    _send_message({"ready": True})
    try:
        while True:
            # Spares are made only when nothing else waits: a report or a request never queues behind one.
            events = selector.select(timeout=0 if server.short_of_spares() else None)
            if not events and server.short_of_spares():
                server.replenish()
            for key, _ in events:
                if key.fd == wake_r:
                    _drain(wake_r)
                    server.reap()
                    continue
                if key.fd != 0:
                    server.on_channel(key.data)
                    continue
                header = _read_header()
                if header is None:
                    return
                if header.strip() and not server.start(header):
                    return
    finally:
        server.kill_all()


if __name__ == "__main__":
    serve(json.loads(sys.argv[1]))
