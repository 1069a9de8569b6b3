"""Kernel isolation of one validation: namespaces, a private read-only root, no capabilities, seccomp, rlimits.

fork_isolated() forks a process that ends up alone in fresh user, mount, PID, network, IPC, UTS and cgroup
namespaces:
- it runs as uid/gid 65534 inside; outside it is a uid of its own (100000 + its pid) when the caller is root,
  else the caller's uid, the only one an unprivileged user namespace may map;
- its root is a read-only tmpfs holding read-only binds of what the interpreter needs (/usr, the interpreter's
  prefix and its sys.path, site-packages included), a few /dev nodes, its own /proc, and a writable /tmp: a fresh
  tmpfs capped at `disk_bytes` and `MAX_INODES` files in total. The worker's files, DATA_DIR, other validations
  and the host /proc are not in that view at all;
- its network namespace holds only its own loopback; abstract sockets and SysV IPC are its own too;
- it holds no capability, has no_new_privs, and a seccomp filter refuses what an escape needs (mounts, namespaces,
  ptrace, bpf, keyrings, pidfds, io_uring, kernel modules, ...);
- it runs under a reaper that is PID 1 of its PID namespace: when it ends, the reaper exits and the kernel kills
  everything it started.

Every step either succeeds or raises IsolationError: the caller fails the validation closed, never runs it bare.
Standard library only (ctypes for the system calls Python does not wrap).
"""

import ctypes
import errno
import fcntl
import os
import platform
import resource
import signal
import socket
import struct
import sys

SANDBOX_ID = 65534
OUTER_UID_BASE = 100000
MAX_INODES = 4096
# Processes and threads of one validation (the enhanced wrapper runs calls in threads).
MAX_TASKS = 64
MAX_OPEN_FILES = 256

_CLONE_NEWNS = 0x00020000
_CLONE_NEWCGROUP = 0x02000000
_CLONE_NEWUTS = 0x04000000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWPID = 0x20000000
_CLONE_NEWNET = 0x40000000
_NAMESPACES = _CLONE_NEWUSER | _CLONE_NEWNS | _CLONE_NEWPID | _CLONE_NEWNET | _CLONE_NEWIPC | _CLONE_NEWUTS | _CLONE_NEWCGROUP

_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_MS_NOATIME, _MS_NODIRATIME, _MS_RELATIME = 1024, 2048, 1 << 21
_MNT_DETACH = 2
# statvfs f_flag bits -> mount flags: a bind mount in a user namespace must keep the locked ones of its source.
_LOCKED_FLAGS = ((1, _MS_RDONLY), (2, _MS_NOSUID), (4, _MS_NODEV), (8, _MS_NOEXEC), (1024, _MS_NOATIME),
                 (2048, _MS_NODIRATIME), (4096, _MS_RELATIME))

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_PR_CAPBSET_DROP = 24
_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
_PR_SET_PDEATHSIG = 1
_SECCOMP_MODE_FILTER = 2
_LINUX_CAPABILITY_VERSION_3 = 0x20080522

# What the keeper sends once it is in its namespaces; a failure text never starts with it.
_UNSHARED = b"\x00"
_DEV_NODES = ("null", "zero", "full", "random", "urandom")


class IsolationError(Exception):
    """The kernel did not give the isolation a validation needs; the message says which step failed."""


# ---- seccomp ----------------------------------------------------------------------------------------

_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_SYSCALL_BIT = 0x40000000
# x86_64 numbers of what an escape or an attack on the host needs; none is used by Python or the code it runs.
_DENIED_X86_64 = {
    "ptrace": 101, "syslog": 103, "personality": 135, "uselib": 134, "vhangup": 153, "pivot_root": 155,
    "adjtimex": 159, "chroot": 161, "acct": 163, "settimeofday": 164, "mount": 165, "umount2": 166,
    "swapon": 167, "swapoff": 168, "reboot": 169, "sethostname": 170, "setdomainname": 171, "iopl": 172,
    "ioperm": 173, "init_module": 175, "delete_module": 176, "quotactl": 179, "lookup_dcookie": 212,
    "clock_settime": 227, "kexec_load": 246, "add_key": 248, "request_key": 249, "keyctl": 250,
    "unshare": 272, "move_pages": 279, "perf_event_open": 298, "fanotify_init": 300,
    "name_to_handle_at": 303, "open_by_handle_at": 304, "clock_adjtime": 305, "setns": 308,
    "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312, "finit_module": 313,
    "kexec_file_load": 320, "bpf": 321, "userfaultfd": 323, "pidfd_send_signal": 424, "io_uring_setup": 425,
    "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428, "move_mount": 429, "fsopen": 430,
    "fsconfig": 431, "fsmount": 432, "fspick": 433, "pidfd_open": 434, "pidfd_getfd": 438,
    "mount_setattr": 442,
}
_CLONE_X86_64 = 56
_CLONE3_X86_64 = 435
_CLONE_NS_FLAGS = _NAMESPACES


def _bpf(code, k, jt=0, jf=0):
    return struct.pack("=HBBI", code, jt, jf, k)


def seccomp_program():
    """The classic-BPF filter, as bytes of sock_filter; IsolationError on an architecture it has no table for."""
    if platform.machine() not in ("x86_64", "AMD64"):
        raise IsolationError(f"seccomp: no system call table for {platform.machine()}")
    ld_w_abs, jeq_k, jge_k, jset_k, ret_k = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, kill = 0x7FFF0000, 0x80000000
    eperm, enosys = 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS
    prog = [
        _bpf(ld_w_abs, 4),  # seccomp_data.arch
        _bpf(jeq_k, _AUDIT_ARCH_X86_64, jt=1),
        _bpf(ret_k, kill),
        _bpf(ld_w_abs, 0),  # seccomp_data.nr
        _bpf(jge_k, _X32_SYSCALL_BIT, jf=1),
        _bpf(ret_k, eperm),
    ]
    for number in sorted(_DENIED_X86_64.values()):
        prog += [_bpf(jeq_k, number, jf=1), _bpf(ret_k, eperm)]
    # clone3 passes its flags in memory a filter cannot read: ENOSYS makes libc fall back to clone.
    prog += [_bpf(jeq_k, _CLONE3_X86_64, jf=1), _bpf(ret_k, enosys)]
    prog += [
        _bpf(jeq_k, _CLONE_X86_64, jf=3),
        _bpf(ld_w_abs, 16),  # low half of args[0], the clone flags
        _bpf(jset_k, _CLONE_NS_FLAGS, jf=1),
        _bpf(ret_k, eperm),
        _bpf(ret_k, allow),
    ]
    return b"".join(prog)


# ---- system calls -----------------------------------------------------------------------------------

_libc = None


def _lib():
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(None, use_errno=True)
        except OSError as exc:
            raise IsolationError(f"cannot load libc: {exc}") from exc
        _libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
        _libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
        _libc.unshare.argtypes = [ctypes.c_int]
        _libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
        _libc.syscall.restype = ctypes.c_long
    return _libc


def _check(result, what):
    if result != 0:
        code = ctypes.get_errno()
        raise IsolationError(f"{what}: {os.strerror(code)}")


def _mount(source, target, fstype, flags, data=None):
    enc = lambda s: s.encode() if isinstance(s, str) else s  # noqa: E731
    _check(_lib().mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def _pivot_root(new_root, put_old):
    # x86_64's number: prepare() refuses other architectures (seccomp_program has no table for them).
    _check(_lib().syscall(_DENIED_X86_64["pivot_root"], new_root.encode(), put_old.encode()), f"pivot_root {new_root}")


def _prctl(option, arg2=0, arg3=0, arg4=0, arg5=0):
    _check(_lib().prctl(option, arg2, arg3, arg4, arg5), f"prctl {option}")


def _drop_capabilities(last_cap):
    for cap in range(last_cap + 1):
        _prctl(_PR_CAPBSET_DROP, cap)
    _prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL)
    header = struct.pack("=Ii", _LINUX_CAPABILITY_VERSION_3, 0)
    data = bytes(24)  # two __user_cap_data_struct of effective, permitted, inheritable: all empty
    header_buf, data_buf = ctypes.create_string_buffer(header), ctypes.create_string_buffer(data)
    _check(_lib().capset(header_buf, data_buf), "capset")


def _install_seccomp(program):
    count = len(program) // 8
    buffer = ctypes.create_string_buffer(program)
    fprog = struct.pack("=HxxxxxxQ", count, ctypes.addressof(buffer))
    fprog_buf = ctypes.create_string_buffer(fprog)
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    _prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.addressof(fprog_buf))


# ---- the view -----------------------------------------------------------------------------------------

def _write(path, text):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def read_only_paths():
    """Host paths the sandbox sees read-only: /usr, the interpreter and its sys.path, outermost only.

    Not the harness: it is loaded before the isolation begins."""
    candidates = ["/usr", sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))]
    candidates += [p for p in sys.path if p]
    paths = []
    for path in sorted({os.path.realpath(p) for p in candidates if os.path.isdir(p)}):
        if path == "/" or any(path == kept or path.startswith(kept + os.sep) for kept in paths):
            continue
        paths.append(path)
    return paths


def _source(path):
    """`path` and the mount flags a bind of it must keep."""
    locked = os.statvfs(path).f_flag
    flags = 0
    for st_bit, ms_bit in _LOCKED_FLAGS:
        if locked & st_bit:
            flags |= ms_bit
    return {"path": path, "flags": flags}


def _open_sources(settings):
    """O_PATH descriptors of every source, opened in the new mount namespace (a bind takes only its own mounts)
    before the keeper becomes uid 65534, which could not walk paths such as /root; PID 1 binds through them."""
    for source in settings["read_only"] + settings["devices"]:
        source["fd"] = os.open(source["path"], os.O_PATH)


def _bind(source, target, read_only=True):
    _mount(f"/oldroot/proc/self/fd/{source['fd']}", target, None, _MS_BIND)
    if read_only:
        _mount(None, target, None, _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV | source["flags"])


def _build_root(settings):
    """In the new mount namespace, as PID 1 of the new PID namespace: the private root, then pivot into it."""
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    # A scratch tmpfs to stand on while the new root is built; the host's /tmp stays reachable as oldroot/tmp.
    _mount("tmpfs", "/tmp", "tmpfs", _MS_NOSUID | _MS_NODEV, "size=64k,mode=0700")
    os.chdir("/tmp")
    os.mkdir("newroot")
    os.mkdir("oldroot")
    _pivot_root(".", "oldroot")
    os.chdir("/")
    root = "/newroot"
    _mount("tmpfs", root, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=256k,mode=0755")
    # First, so that a read-only path under /tmp (a venv there) is bound inside it rather than hidden by it.
    os.mkdir(f"{root}/tmp")
    disk = int(settings["disk_bytes"])
    _mount("tmpfs", f"{root}/tmp", "tmpfs", _MS_NOSUID | _MS_NODEV,
           f"size={disk},nr_inodes={MAX_INODES},mode=0700,uid={SANDBOX_ID},gid={SANDBOX_ID}")
    for source in settings["read_only"]:
        os.makedirs(root + source["path"], exist_ok=True)
        _bind(source, root + source["path"])
    for name, target in settings["links"]:
        os.symlink(target, f"{root}/{name}")
    os.mkdir(f"{root}/dev", 0o755)
    for source in settings["devices"]:
        open(root + source["path"], "w").close()
        _bind(source, root + source["path"], read_only=False)
    os.makedirs(f"{root}/etc", 0o755)
    with open(f"{root}/etc/passwd", "w") as handle:
        handle.write(f"sandbox:x:{SANDBOX_ID}:{SANDBOX_ID}:sandbox:/tmp:/usr/sbin/nologin\n")
    with open(f"{root}/etc/group", "w") as handle:
        handle.write(f"sandbox:x:{SANDBOX_ID}:\n")
    os.mkdir(f"{root}/proc")
    # A proc of this PID namespace only; where the kernel refuses it (a masked /proc in a container), /proc stays empty.
    try:
        _mount("proc", f"{root}/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
    except IsolationError:
        pass
    os.mkdir(f"{root}/oldroot")
    _pivot_root(root, f"{root}/oldroot")
    os.chdir("/")
    _check(_lib().umount2(b"/oldroot", _MNT_DETACH), "umount the host root")
    os.rmdir("/oldroot")
    _mount(None, "/", None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)
    os.chdir("/tmp")


def _loopback_up():
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sh14x", b"lo", 0)
        flags = struct.unpack("16sh14x", fcntl.ioctl(sock, siocgifflags, request))[1]
        fcntl.ioctl(sock, siocsifflags, struct.pack("16sh14x", b"lo", flags | iff_up))


def _limit(which, value):
    resource.setrlimit(which, (value, value))


def _set_limits(settings):
    _limit(resource.RLIMIT_NPROC, MAX_TASKS)
    _limit(resource.RLIMIT_NOFILE, MAX_OPEN_FILES)
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_FSIZE, int(settings["disk_bytes"]))


def _inside(settings):
    """PID 1 of the new namespaces: build the view, then give up everything that could undo it."""
    _build_root(settings)
    # Each one is a way back to the host's tree (fchdir, openat): none may outlive the binds.
    for fd in _descriptors(settings):
        os.close(fd)
    socket.sethostname("sandbox")
    _loopback_up()
    _set_limits(settings)
    _drop_capabilities(settings["last_cap"])
    _install_seccomp(settings["seccomp"])


def prepare(disk_bytes):
    """What fork_isolated needs, computed once by the caller (the warm server) rather than in every child."""
    with open("/proc/sys/kernel/cap_last_cap", encoding="ascii") as handle:
        last_cap = int(handle.read())
    read_only = [_source(path) for path in read_only_paths()]
    links = []
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = "/" + name
        if os.path.islink(host):
            links.append((name, os.readlink(host)))
        elif os.path.isdir(host):
            read_only.append(_source(host))
    devices = [_source(f"/dev/{node}") for node in _DEV_NODES if os.path.exists(f"/dev/{node}")]
    return {"read_only": read_only, "links": links, "devices": devices, "disk_bytes": int(disk_bytes),
            "seccomp": seccomp_program(), "last_cap": last_cap}


def _descriptors(settings):
    return [source["fd"] for source in settings["read_only"] + settings["devices"]]


def _report_failure(fd, exc):
    message = f"{exc}".encode("utf-8", "replace")[:1000]
    try:
        os.write(fd, message or b"isolation failed")
    except OSError:
        pass


def exit_as(status):
    """Ends this process the way a child with wait status `status` ended: by the same signal, or with its code."""
    if os.WIFSIGNALED(status):
        # The same death, as seen from outside the namespace (SIGKILL and SIGSTOP have no handler to reset).
        number = os.WTERMSIG(status)
        if number not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)


def fork_isolated(settings, stdio=None, notify=None):
    """Fork; returns the child's pid in the caller and 0 in the isolated process, where the validation runs.

    `stdio`: descriptors that become the isolated process's 0, 1 and 2 (the caller's own stay put when None);
    `notify`: a descriptor the isolated process keeps, and to which PID 1 writes its wait status (4 bytes) the
    moment it ends, before the namespaces are torn down; every other descriptor of the caller is closed in it.
    Raises IsolationError in the caller when the isolation could not be set up: nothing of the validation ran.
    Processes: the caller forks a keeper, which enters the new namespaces (the caller, outside them, writes its
    uid/gid maps) and forks PID 1 of the new PID namespace; the keeper waits for it and exits as it did.
    """
    ready_r, ready_w = os.pipe()  # keeper -> caller: "unshared", then the failure text if any
    mapped_r, mapped_w = os.pipe()  # caller -> keeper: "maps written"
    pid = os.fork()
    if pid == 0:
        os.close(ready_r)
        os.close(mapped_w)
        _keeper(settings, stdio, notify, ready_w, mapped_r)
        return 0
    os.close(ready_w)
    os.close(mapped_r)
    try:
        first = os.read(ready_r, 1)
        if first != _UNSHARED:
            text = first + _read_all(ready_r)
            raise IsolationError(text.decode("utf-8", "replace") or "the sandbox process ended before entering its namespaces")
        _write_maps(pid)
        os.write(mapped_w, b"m")
        # The keeper closes its end once PID 1 is isolated and reports a failure before that, if any.
        text = _read_all(ready_r)
        if text:
            raise IsolationError(text.decode("utf-8", "replace"))
        return pid
    except BaseException:
        _kill(pid)
        raise
    finally:
        os.close(ready_r)
        os.close(mapped_w)


def _outer_ids():
    """(uid, gid) pairs the isolated process may be outside, best first: one of its own when the caller is root,
    else (or where root's user namespace maps no such uid) the caller's, the only one it may always map."""
    own = (os.geteuid(), os.getegid())
    return [(OUTER_UID_BASE + os.getpid(), OUTER_UID_BASE + os.getpid()), own] if own[0] == 0 else [own]


def _write_maps(pid):
    try:
        _write(f"/proc/{pid}/setgroups", "deny")
    except OSError as exc:
        raise IsolationError(f"setgroups deny: {exc.strerror}") from exc
    failure = None
    for uid, gid in _outer_ids():
        # A map that the kernel refuses is not written: the next candidate may be.
        try:
            _write(f"/proc/{pid}/uid_map", f"{SANDBOX_ID} {uid} 1\n")
            _write(f"/proc/{pid}/gid_map", f"{SANDBOX_ID} {gid} 1\n")
            return
        except OSError as exc:
            failure = exc
    raise IsolationError(f"uid/gid map: {failure.strerror}")


def _read_all(fd):
    chunks = []
    while True:
        chunk = os.read(fd, 4096)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except OSError:
        pass


def detach(stdio, keep=()):
    """In a child of the caller: a session of its own, default signal handling, `stdio` on 0, 1, 2 (the
    caller's own when None) and no other descriptor of the caller's but `keep`."""
    os.setsid()
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    _only_descriptors(stdio, keep)


def _only_descriptors(stdio, keep):
    """dup2 `stdio` onto 0, 1, 2 and close every other descriptor but `keep`."""
    if stdio is not None:
        for target, fd in enumerate(stdio):
            os.dup2(fd, target)
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))


def _drop_groups():
    """Nothing of the worker's supplementary groups, where the caller may drop them (it may not in a user namespace
    whose setgroups is denied; there the groups give no more than read access within the read-only view)."""
    if os.geteuid() != 0:
        return
    try:
        os.setgroups([])
    except PermissionError:
        with open("/proc/self/setgroups", encoding="ascii") as handle:
            if handle.read().strip() != "deny":
                raise


def _keeper(settings, stdio, notify, ready_w, mapped_r):
    """Never returns in the keeper; returns in the validation's process once it is isolated.

    Inside the namespaces PID 1 is a reaper (as a PID 1 it would ignore the signals it does not handle, so the code
    under test does not run as PID 1) and the validation runs as its child; PID 1 passes the child's wait status to
    the keeper, which ends the same way.
    """
    caller = os.getppid()
    try:
        detach(stdio, (ready_w, mapped_r) if notify is None else (ready_w, mapped_r, notify))
        _drop_groups()
        _check(_lib().unshare(_NAMESPACES), "unshare the namespaces")
        os.write(ready_w, _UNSHARED)
        if os.read(mapped_r, 1) != b"m":
            os._exit(1)
        os.close(mapped_r)
        _open_sources(settings)
        os.setresgid(SANDBOX_ID, SANDBOX_ID, SANDBOX_ID)
        os.setresuid(SANDBOX_ID, SANDBOX_ID, SANDBOX_ID)
        # After the uid change, which clears it: the keeper dies with its caller, PID 1 with the keeper.
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != caller:
            os._exit(1)
        status_r, status_w = os.pipe()
        init = os.fork()
    except BaseException as exc:  # noqa: BLE001 - reported to the caller, which fails the validation
        _report_failure(ready_w, exc)
        os._exit(1)
    if init == 0:
        os.close(status_r)
        try:
            _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            _inside(settings)
        except BaseException as exc:  # noqa: BLE001
            _report_failure(ready_w, exc)
            os._exit(1)
        os.close(ready_w)
        validation = os.fork()
        if validation == 0:
            os.close(status_w)
            return
        _reap((status_w,) if notify is None else (status_w, notify), validation)
    _only_descriptors(None, (status_r,))
    _, status = os.waitpid(init, 0)
    reported = _read_all(status_r)
    exit_as(struct.unpack("=i", reported)[0] if len(reported) == 4 else status)


def _reap(reports, validation):
    """PID 1: reaps every orphan until the validation's process ends, reports how, and ends the namespace."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    while True:
        pid, status = os.waitpid(-1, 0)
        if pid == validation:
            for fd in reports:
                try:
                    os.write(fd, struct.pack("=i", status))
                except OSError:
                    pass  # a caller that went away needs no report
            os._exit(0)
