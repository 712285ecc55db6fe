"""Rendering on several cores: the parent and workers forked after compilation share the tasks, in order.

Once compiled, each spec file's rules and promtool tests are a pure function of its plans. Workers forked at that
point inherit the plans (nothing is pickled on the way in: a task is a function and an index) and send back only
their results, each through its own pipe. The parent keeps everything that must stay single: the output order,
the claims on paths, the writer's all-or-nothing transaction and every message.

Tasks are claimed from a shared counter, by the workers and by the parent itself: when the parent needs the next
result and nobody has claimed it, it renders it; when a worker has it and is not done, the parent renders a later
one meanwhile. So ``jobs`` processes work, not ``jobs`` + 1, and the parent's own work (writing) balances itself
against the workers'. A fork's memory is not free -- every object a worker touches and every allocation it makes
copies a shared page -- so each worker costs about half the parent's heap (measured in bench/README.md), which is
why the parent is one of the ``jobs``.

Back-pressure: the workers, and the parent when it renders ahead, hold at most ``window`` results the consumer has
not taken (a semaphore), so a slow writer holds them back instead of the run's text piling up. Errors come out in
task order, as from one process. Plain ``os.fork`` and pipes, no threads in the parent (``multiprocessing.Pool``'s
threads made Ctrl-C hang it now and then): workers ignore Ctrl-C, are killed when the ``with`` block is left
whichever way, and never return into the parent's code (``os._exit``). Where ``fork`` is unavailable (Windows;
macOS only offers it unsafely) or one job is asked for, everything runs in the parent, lazily.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import select
import signal
import struct
import sys
from collections.abc import Callable, Iterator
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Semaphore
from types import TracebackType
from typing import Any, Generic, TypeVar

State = TypeVar("State")
Result = TypeVar("Result")

AUTO_MIN_SLOS = 1000
"""Below this, ``--jobs auto`` stays in one process: a run takes under 2 s, and a forked worker gains less than it
costs (bench/README.md)."""

MAX_JOBS = 64  # a typo such as ``-j 1000`` must not fork a thousand copies of the run
WINDOW_PER_WORKER = 16  # results a worker may have rendered ahead of the parent: ~1.5 MB each at 50 SLOs per file


def available_cores() -> int:
    """Cores this process may run on (the CPU affinity mask, which containers and ``taskset`` narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    return sys.platform == "linux" and hasattr(os, "fork")


def effective_jobs(jobs: int) -> int:
    """The processes ``jobs`` asks for, where forking is possible; else one."""
    return jobs if can_fork() else 1


def auto_jobs(slo_count: int) -> int:
    """``--jobs auto``: every available core for a large run, one process for a small one."""
    return min(available_cores(), MAX_JOBS) if slo_count >= AUTO_MIN_SLOS else 1


class WorkerDied(RuntimeError):
    """A worker ended without sending its results (killed, or out of memory)."""


_DONE = -1  # the index a worker sends once no task is left


class _Claims:
    """The next unclaimed task index, shared by the parent and its workers (created before the fork)."""

    def __init__(self, count: int, window: int) -> None:
        context = multiprocessing.get_context("fork")
        self.count = count
        self.next: Synchronized[int] = context.Value("q", 0)
        self.permits: Semaphore = context.Semaphore(window)

    def claim(self, only: int | None = None) -> int | None:
        """The next index (marked claimed), or None when all are; with ``only``, claim it only if it is next."""
        with self.next.get_lock():
            index = self.next.value
            if index >= self.count or (only is not None and index != only):
                return None
            self.next.value = index + 1
            return index


_HEADER = struct.Struct("<Q")  # each message: its length, then its pickle


def _send(fd: int, message: tuple[int, bool, Any]) -> None:
    data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    for part in (_HEADER.pack(len(data)), data):
        view = memoryview(part)
        while view:
            view = view[os.write(fd, view) :]


def _read_exact(fd: int, size: int) -> bytearray | None:
    """``size`` bytes from ``fd``; None at end of file (the writer is gone)."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        n = os.readv(fd, [view[got:]])
        if n == 0:
            return None
        got += n
    return buffer


def _serve(write_fd: int, claims: _Claims, run: Callable[[int], Any]) -> None:
    """The whole life of a forked worker: claim, render, send (index, ok, result) down the pipe; then exit."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        while True:
            claims.permits.acquire()
            index = claims.claim()
            if index is None:
                claims.permits.release()
                break
            try:
                message = (index, True, run(index))
            except Exception as exc:  # the parent raises it when it reaches this index; this worker stops
                _send(write_fd, (index, False, _portable(exc)))
                break
            _send(write_fd, message)
        _send(write_fd, (_DONE, True, None))
    except BaseException:  # the pipe closed under us (the parent left): nothing more to say
        code = 1
    finally:
        os._exit(code)


def _portable(exc: Exception) -> Exception:
    """The exception itself when it survives pickling, else a RuntimeError with its text."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


class _Worker:
    def __init__(self, claims: _Claims, run: Callable[[int], Any]) -> None:
        self.fd, write_fd = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover - the child; coverage does not follow a fork
            os.close(self.fd)
            _serve(write_fd, claims, run)
        os.close(write_fd)
        self.done = False

    def receive(self) -> tuple[int, bool, Any]:
        header = _read_exact(self.fd, _HEADER.size)
        body = None if header is None else _read_exact(self.fd, _HEADER.unpack(header)[0])
        if body is None:
            raise WorkerDied(f"a rendering worker (pid {self.pid}) ended without its results")
        message: tuple[int, bool, Any] = pickle.loads(body)
        return message

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        os.close(self.fd)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


class ForkedWorkers(Generic[State]):
    """``with ForkedWorkers(state, jobs) as workers``: ``workers.map(task, n)`` runs ``task(state, i)`` for every
    i on ``jobs`` processes (this one included) and yields the results in order."""

    def __init__(self, state: State, jobs: int) -> None:
        self.state = state
        self.jobs = effective_jobs(jobs)
        self._workers: list[_Worker] = []

    def __enter__(self) -> ForkedWorkers[State]:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        for worker in self._workers:  # done, failed or interrupted: nothing a worker still does is wanted
            worker.stop()
        self._workers.clear()

    @property
    def forked(self) -> bool:
        """Whether workers are running beside this process (``map`` forks them when it is called)."""
        return bool(self._workers)

    def map(self, task: Callable[[State, int], Result], count: int) -> Iterator[Result]:
        """Fork the workers now and return the results of ``task(state, i)``, i = 0..count-1, in order."""
        helpers = min(self.jobs, count) - 1
        if helpers <= 0:
            return (task(self.state, index) for index in range(count))
        claims = _Claims(count, helpers * WINDOW_PER_WORKER)
        state = self.state
        self._workers = [_Worker(claims, lambda i: task(state, i)) for _ in range(helpers)]
        return self._collect(task, claims)

    def _collect(self, task: Callable[[State, int], Result], claims: _Claims) -> Iterator[Result]:
        """The results in order. While the next one is a worker's and not here yet, this process renders a later
        one instead of waiting (within the same window of permits as the workers)."""
        received: dict[int, tuple[bool, Any]] = {}  # results ahead of the consumer, each holding a permit
        for index in range(claims.count):
            if index not in received and claims.claim(only=index) is not None:
                yield task(self.state, index)  # nobody had it: render it here
                continue
            while index not in received:
                if not self._receive_some(received, wait=False) and not self._render_ahead(task, claims, received):
                    self._receive_some(received, wait=True)
            ok, value = received.pop(index)
            claims.permits.release()
            if not ok:
                raise value
            yield value

    def _render_ahead(
        self, task: Callable[[State, int], Result], claims: _Claims, received: dict[int, tuple[bool, Any]]
    ) -> bool:
        """Render the next unclaimed task here; False when none is left or the window is full."""
        if not claims.permits.acquire(block=False):
            return False
        index = claims.claim()
        if index is None:
            claims.permits.release()
            return False
        try:
            received[index] = (True, task(self.state, index))
        except Exception as exc:  # raised when the consumer reaches it, as from a worker
            received[index] = (False, exc)
        return True

    def _receive_some(self, received: dict[int, tuple[bool, Any]], wait: bool) -> bool:
        """Keep what the workers have sent (with ``wait``, wait for at least one message); whether any came."""
        busy = {worker.fd: worker for worker in self._workers if not worker.done}
        if not busy:
            if wait:
                raise WorkerDied("the rendering workers finished without a result that was claimed")
            return False
        readable, _, _ = select.select(list(busy), [], [], None if wait else 0)
        for fd in readable:
            worker = busy[fd]
            index, ok, value = worker.receive()
            if index == _DONE:
                worker.done = True
            else:
                received[index] = (ok, value)
        return bool(readable)
