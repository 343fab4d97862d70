"""Child processes that never outlive the process that started them, each with a time and a memory limit.

Every child the tracker starts (a crawl, the document-extraction worker, a track crawl) is started with
:func:`spawn` and calls :func:`enter_child` first thing. Together they give each child:

- **death with its parent**: ``PR_SET_PDEATHSIG`` (Linux ``prctl(2)``, through ctypes: the Python wrappers
  on PyPI are unmaintained C extensions) makes the kernel send the child SIGKILL when the thread that
  started it ends, and a watchdog thread in the child kills it as soon as its parent process id is no longer
  the one that started it, which also covers a parent killed between the fork and the ``prctl`` call. Where
  ``prctl`` is missing (not Linux), the watchdog alone applies: the child dies within a second of its
  parent. Note that the death signal follows the parent *thread*: start children from a thread that waits
  for them (as every caller here does);
- **a time limit**: the parent kills the child at its limit, and the child kills itself a little later if
  the parent could not (``RLIMIT_CPU`` and the watchdog's wall-clock deadline);
- **a memory limit**: ``RLIMIT_AS`` (address space), so a runaway parser or matcher fails with MemoryError
  instead of taking the machine;
- **its own process group** (a new session), so that the parent stops it and anything it started at once
  (:func:`stop`), and a Ctrl-C in the parent's terminal reaches the parent only.

The limits travel in one environment variable, read and removed by :func:`enter_child` (so that the
child's own children do not inherit its parent's pid).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any

ENV = "TRACKER_CHILD_LIMITS"  # "PARENT_PID:TIME_LIMIT_SECONDS:MEMORY_MB" (0: no limit)
PR_SET_PDEATHSIG = 1
WATCH_EVERY = 0.25  # seconds between two looks of the watchdog at the parent
# The child's own backstop fires this long after the limit at which its parent kills it.
SELF_KILL_AFTER = 10.0


def set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Ask the kernel to send ``sig`` to this process when its parent (thread) dies. Linux only: returns
    False where ``prctl`` is not available (the watchdog then stands alone)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        status: int = libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        return status == 0
    except (OSError, AttributeError):  # pragma: no cover - no libc with prctl
        return False


def limit_memory(memory_mb: float) -> None:
    """Cap this process's address space (inherited by its children)."""
    if memory_mb <= 0:
        return
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        limit = int(memory_mb * 1024 * 1024)
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard if hard != resource.RLIM_INFINITY else limit))


def limit_cpu(seconds: float) -> None:
    """Cap this process's CPU time (SIGXCPU, then SIGKILL at the hard limit): a runaway computation dies even
    when nobody is left to kill it."""
    if seconds <= 0:
        return
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        soft = int(seconds) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 5))


def _suicide() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def bind_to_parent(parent_pid: int, deadline: float | None = None) -> None:
    """Die with ``parent_pid`` (this process's parent when it was started), and at the monotonic
    ``deadline`` if one is given. Returns at once; a daemon thread keeps watching."""
    set_parent_death_signal()
    if os.getppid() != parent_pid:  # the parent died before the death signal was armed
        _suicide()

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid or (deadline is not None and time.monotonic() > deadline):
                _suicide()
            time.sleep(WATCH_EVERY)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def enter_child() -> bool:
    """In a child started by :func:`spawn`: tie it to its parent and apply its limits. Returns whether this
    process is such a child (False: run by hand, nothing applied)."""
    spec = os.environ.pop(ENV, None)
    if not spec:
        return False
    try:
        pid_text, limit_text, memory_text = spec.split(":")
        parent_pid, time_limit, memory_mb = int(pid_text), float(limit_text), float(memory_text)
    except ValueError:
        return False
    limit_memory(memory_mb)
    deadline = None
    if time_limit > 0:
        limit_cpu(time_limit + SELF_KILL_AFTER)
        deadline = time.monotonic() + time_limit + SELF_KILL_AFTER
    bind_to_parent(parent_pid, deadline)
    return True


def child_env(
    time_limit: float | None, memory_mb: float | None, env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """``env`` (default: this process's environment) with the child's limits added."""
    out = dict(os.environ if env is None else env)
    out[ENV] = f"{os.getpid()}:{time_limit or 0:g}:{memory_mb or 0:g}"
    return out


def spawn(
    cmd: list[str],
    *,
    time_limit: float | None,
    memory_mb: float | None,
    env: Mapping[str, str] | None = None,
    **popen: Any,
) -> subprocess.Popen[Any]:
    """Start ``cmd`` (a Python entry point that calls :func:`enter_child`) in its own process group."""
    return subprocess.Popen(cmd, env=child_env(time_limit, memory_mb, env), start_new_session=True, **popen)


def _signal_group(proc: subprocess.Popen[Any], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)


def terminate(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM to the child and its process group."""
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)


def kill(proc: subprocess.Popen[Any]) -> None:
    """SIGKILL to the child's process group (its own children too), then reap it."""
    _signal_group(proc, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def stop(proc: subprocess.Popen[Any], grace: float) -> None:
    """SIGTERM, and SIGKILL when the child has not exited ``grace`` seconds later."""
    terminate(proc)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=max(grace, 0))
    kill(proc)


def run(
    cmd: list[str],
    *,
    time_limit: float | None,
    memory_mb: float | None,
    env: Mapping[str, str] | None = None,
    capture: bool = True,
    tick: Any = None,
    tick_every: float = 15.0,
    started: Any = None,
) -> subprocess.CompletedProcess[str]:
    """:func:`spawn` ``cmd`` and wait for it, killing it (and its group) at ``time_limit``
    (``subprocess.TimeoutExpired``), calling ``tick()`` every ``tick_every`` seconds while it runs and
    ``started(proc)`` once it is started. Output is captured as text unless ``capture`` is False."""
    pipes: dict[str, Any] = (
        {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True} if capture else {"text": True}
    )
    proc = spawn(cmd, time_limit=time_limit, memory_mb=memory_mb, env=env, **pipes)
    if started is not None:
        started(proc)
    end = time.monotonic() + time_limit if time_limit else None
    try:
        while True:
            wait = tick_every if tick is not None else None
            if end is not None:
                remaining = end - time.monotonic()
                if remaining <= 0:
                    raise subprocess.TimeoutExpired(cmd, time_limit or 0)
                wait = remaining if wait is None else min(wait, remaining)
            try:
                out, err = proc.communicate(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                if tick is not None:
                    tick()
    except BaseException:
        kill(proc)
        with contextlib.suppress(Exception):
            proc.communicate(timeout=5)
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)
