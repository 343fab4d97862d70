"""A fork server for the tests' ``tracker`` child processes: the same command in a new process, without
paying the interpreter's start and the imports each time.

About 500 tests run the real command in a child process (``run_tracker`` in tests/conftest.py). A fresh
``python -m tracker`` spends 0.7 s (``--help``) to 1.1 s (a crawl: Scrapy and Twisted) of CPU on imports
before it does anything, about a third of the suite's CPU. This server imports the project's modules once
(per pytest-xdist worker), then serves each command by forking:

- the server (started on the first ``run_tracker``) imports every module of ``tracker``, ``crawler`` and
  ``db``, checks that the imports left one thread and no Twisted reactor installed (Scrapy installs its
  own in the crawl), and waits on a Unix socket;
- for each command the client sends the arguments, the environment and the working directory, with its
  standard input and two files for the output (``SCM_RIGHTS``); the server forks a process that forks
  the command's process, which takes those descriptors as 0, 1 and 2, replaces its environment, changes
  directory and runs ``tracker`` as ``python -m tracker`` does (``runpy``, ``__main__``), so it exits the
  way a fresh interpreter exits: ``sys.exit`` codes, uncaught exceptions (traceback, status 1), atexit
  handlers, signals (a negative return code);
- the middle process sends back the command's pid (so that a timeout can kill it, as ``subprocess.run``
  does) and then its exit status.

What differs from a fresh interpreter: modules the command would not have imported are already imported
(none registers anything global at import; the tests of the fork server compare output and status with
real child processes), and every command of a worker shares the server's string-hash seed. Settings that
the interpreter, the loader or a module reads at start (``PYTHON*``, the locale, ``LD_*``, libfaketime's
``FAKETIME*``, ``TRACKER_STREAMS_DIR``) are compared
with the server's: a command whose environment changes one of them runs as a real child process, and
``TRACKER_TEST_FORKSERVER=0`` makes every command one.
"""

from __future__ import annotations

import array
import atexit
import gc
import importlib
import json
import os
import pkgutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("tracker", "crawler", "db")
#: Environment variables read when the interpreter starts or a module is imported: a command whose
#: environment differs from the server's in one of them cannot be forked from it.
START_VARIABLES = ("PYTHON", "LC_", "LANG", "LANGUAGE", "TRACKER_STREAMS_DIR", "LD_", "FAKETIME")


def _start_settings(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(START_VARIABLES)}


def _send(sock: socket.socket, payload: dict, fds: list[int] | None = None) -> None:
    data = json.dumps(payload).encode()
    message = struct.pack("!I", len(data)) + data
    if fds:
        sock.sendmsg([message], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    else:
        sock.sendall(message)


def _receive(sock: socket.socket, with_fds: int = 0) -> tuple[dict, list[int]]:
    fds: list[int] = []
    head = b""
    if with_fds:
        head, fds, _flags, _addr = socket.recv_fds(sock, 4, with_fds)
        if not head:
            raise EOFError("the connection closed")
    head += _read_exactly(sock, 4 - len(head))
    (size,) = struct.unpack("!I", head)
    return json.loads(_read_exactly(sock, size)), list(fds)


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    chunks = b""
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            raise EOFError("the fork server closed the connection")
        chunks += chunk
    return chunks


# --- the server --------------------------------------------------------------------------------------


def _preload() -> None:
    for name in PACKAGES:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            if info.name.endswith("__main__") or info.name.startswith("db.migrations"):
                continue  # run as scripts (python -m, Alembic's env.py), not imported
            importlib.import_module(info.name)
    if threading.active_count() != 1:
        raise RuntimeError(f"the imports started threads: {threading.enumerate()}")
    if "twisted.internet.reactor" in sys.modules:
        raise RuntimeError("the imports installed a Twisted reactor")


def _serve(path: str) -> dict | None:
    """Accept commands until the parent goes; return the request in the command's process."""
    parent = os.getppid()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    listener.settimeout(1.0)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    gc.freeze()  # the imported objects stay shared with the forked processes (no copy on write by the GC)
    while True:
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass  # middle processes that finished
        except ChildProcessError:
            pass
        if os.getppid() != parent:
            return None
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        if os.fork():
            conn.close()
            continue
        # The middle process: receive the command, fork it, report its pid and its exit status.
        listener.close()
        conn.settimeout(None)
        request, fds = _receive(conn, with_fds=3)
        pid = os.fork()
        if pid == 0:
            conn.close()
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
                os.close(fd)
            return request
        for fd in fds:
            os.close(fd)
        _send(conn, {"pid": pid})
        _, status = os.waitpid(pid, 0)
        _send(conn, {"returncode": os.waitstatus_to_exitcode(status)})
        os._exit(0)


def _run_command(request: dict) -> None:
    """Become ``python -m tracker ARGS`` in the request's directory and environment, and exit as the
    interpreter exits (the exit code of ``sys.exit`` or 1 after a traceback; non-daemon threads joined,
    atexit handlers run, standard streams flushed), without tearing down the modules one by one: that
    teardown, about 1 s with everything imported, is what a process that ends does not need."""
    import runpy
    import time

    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    time.tzset()
    sys.argv = ["tracker", *request["args"]]  # runpy sets argv[0] to the module's file, as -m does
    code = 0
    try:
        runpy.run_module("tracker", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except BaseException:
        sys.excepthook(*sys.exc_info())
        code = 1
    threading._shutdown()  # type: ignore[attr-defined]  # what the interpreter does first at exit
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed or broken stream: exit status 120, as the interpreter gives
            code = code or 120
    os._exit(code)


def _exit_code(code: object) -> int:
    """The exit status the interpreter gives ``SystemExit(code)``."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


# --- the client --------------------------------------------------------------------------------------


class ForkServer:
    def __init__(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="tracker-fork-")
        self.path = os.path.join(self.directory, "socket")
        self.env = dict(os.environ)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.forkserver", self.path],
            cwd=REPO,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if line != "ready\n":
            self.process.kill()
            raise RuntimeError(f"the tests' fork server did not start (exit {self.process.wait()})")

    def can_run(self, env: dict[str, str]) -> bool:
        return self.process.poll() is None and _start_settings(env) == _start_settings(self.env)

    def run(
        self, args: list[str], env: dict[str, str], cwd: str, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "tracker", *args]
        with (
            tempfile.TemporaryFile() as out,
            tempfile.TemporaryFile() as err,
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock,
        ):
            sock.connect(self.path)
            stdin = os.open(os.devnull, os.O_RDONLY)
            try:
                _send(sock, {"args": args, "env": env, "cwd": cwd}, [stdin, out.fileno(), err.fileno()])
            finally:
                os.close(stdin)
            pid = _receive(sock)[0]["pid"]
            sock.settimeout(timeout)
            try:
                returncode = _receive(sock)[0]["returncode"]
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
                sock.settimeout(None)
                _receive(sock)
                raise subprocess.TimeoutExpired(cmd, timeout, _text(out), _text(err)) from None
            return subprocess.CompletedProcess(cmd, returncode, _text(out), _text(err))

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
        assert self.process.stdout is not None
        self.process.stdout.close()
        Path(self.path).unlink(missing_ok=True)
        os.rmdir(self.directory)


def _text(file) -> str:
    """What ``subprocess.run(text=True)`` returns: the locale's encoding, universal newlines."""
    import io

    file.seek(0)
    return io.TextIOWrapper(io.BytesIO(file.read())).read()


_server: ForkServer | None = None


def server() -> ForkServer | None:
    """This process's fork server (started on first use), or None when ``TRACKER_TEST_FORKSERVER=0``."""
    global _server
    if os.environ.get("TRACKER_TEST_FORKSERVER", "1") == "0":
        return None
    if _server is None or _server.process.poll() is not None:
        _server = ForkServer()
        atexit.register(_server.close)
    return _server


if __name__ == "__main__":
    _preload()
    command = _serve(sys.argv[1])
    if command is None:
        sys.exit(0)
    _run_command(command)
