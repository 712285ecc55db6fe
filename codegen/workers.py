"""Rendering on several cores: the parent and workers forked after compilation share the tasks, in order.

Once compiled, each spec file's rules and promtool tests are a pure function of its plans. Workers forked at that
point inherit the plans (nothing is pickled on the way in: a task is a function and an index) and send back only
their results, each in a memory file whose descriptor goes over a socket: a worker never waits for the parent to
read (through a pipe, a result larger than the pipe stalled the worker until the parent came by). The parent keeps
everything that must stay single: the output order, the claims on paths, the writer's all-or-nothing transaction
and every message.

Tasks are claimed from a shared counter, by the workers and by the parent itself: when the parent needs the next
result and nobody has claimed it, it renders it; when a worker has it and is not done, the parent renders a later
one meanwhile. So ``jobs`` processes work, not ``jobs`` + 1, and the parent's own work (writing) balances itself
against the workers'. A long task needed last (the SLO document) can be a worker's first, so it does not hold up
the end. A fork's memory is not free -- every object a worker touches and every allocation it makes copies a
shared page -- so each worker costs about half the parent's heap (measured in bench/README.md), which is why the
parent is one of the ``jobs``.

Back-pressure: the workers, and the parent when it renders ahead, hold at most ``window`` results the consumer has
not taken (a semaphore), so a slow writer holds them back instead of the run's text piling up. Errors come out in
task order, as from one process. Plain ``os.fork`` and sockets, no threads in the parent (``multiprocessing.Pool``'s
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
import socket
import struct
import sys
from collections.abc import Callable, Iterator
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Semaphore
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, TypeVar

State = TypeVar("State")
Result = TypeVar("Result")

AUTO_MIN_SLOS = 1000
"""Below this, ``--jobs auto`` stays in one process: the run takes about a second anyway, and a worker costs a fork
and the pages it copies (at 1,000 SLOs two processes take 0.88 s against 1.07 s; bench/README.md)."""

AUTO_MAX_JOBS = 4
"""``--jobs auto`` uses at most this many: each worker costs about half the main process's memory, and past a few
the serial parse and compile dominate anyway."""

MAX_JOBS = 64  # a typo such as ``-j 1000`` must not fork a thousand copies of the run
WINDOW_PER_WORKER = 16  # results a worker may have rendered ahead of the parent: ~1.5 MB each at 50 SLOs per file

CGROUP = Path("/sys/fs/cgroup")


def available_cores(cgroup: Path = CGROUP) -> int:
    """Cores this process may use: the CPU affinity mask (``taskset``, cpusets), narrowed by a cgroup CPU quota (a
    container limited to 2 CPUs on a 64-core host sees 64 cores in its affinity mask)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    quota = cpu_quota(cgroup)
    return max(1, min(cores, quota)) if quota is not None else cores


def cpu_quota(cgroup: Path = CGROUP) -> int | None:
    """The cgroup's CPU limit in whole CPUs, rounded up (v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``); None: no limit."""
    try:
        text = (cgroup / "cpu.max").read_text().split()
        quota, period = text[0], text[1]
    except (OSError, IndexError):
        try:
            quota = (cgroup / "cpu" / "cpu.cfs_quota_us").read_text().strip()
            period = (cgroup / "cpu" / "cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    try:
        limit, every = int(quota), int(period)
    except ValueError:  # "max": unlimited
        return None
    return -(-limit // every) if limit > 0 and every > 0 else None


def can_fork() -> bool:
    return sys.platform == "linux" and hasattr(os, "fork")


def effective_jobs(jobs: int) -> int:
    """The processes ``jobs`` asks for, where forking is possible; else one."""
    return jobs if can_fork() else 1


def auto_jobs(slo_count: int) -> int:
    """``--jobs auto``: the available cores (up to ``AUTO_MAX_JOBS``) for a large run, one process for a small one."""
    return min(available_cores(), AUTO_MAX_JOBS) if slo_count >= AUTO_MIN_SLOS else 1


class WorkerDied(RuntimeError):
    """A worker ended without sending its results (killed, or out of memory)."""


_DONE = -1  # the index a worker sends once no task is left


class _Claims:
    """The next unclaimed task, shared by the parent and its workers (created before the fork). Tasks are claimed
    in index order, except ``first``, which the first worker renders before any other."""

    def __init__(self, count: int, window: int, first: int | None) -> None:
        context = multiprocessing.get_context("fork")
        self.count = count
        self.order = [index for index in range(count) if index != first]
        self.next: Synchronized[int] = context.Value("q", 0)  # a position in ``order``
        self.permits: Semaphore = context.Semaphore(window)

    def claim(self, only: int | None = None) -> int | None:
        """The next index (marked claimed), or None when all are; with ``only``, claim it only if it is next."""
        with self.next.get_lock():
            position = self.next.value
            if position >= len(self.order) or (only is not None and self.order[position] != only):
                return None
            self.next.value = position + 1
            return self.order[position]


_HEADER = struct.Struct("<Q")  # each message: the length of the pickle in the memory file that comes with it


def _send(channel: socket.socket, message: tuple[int, bool, Any]) -> None:
    """The message's pickle in a memory file of its own, the file's descriptor over the socket: the socket carries
    a few bytes, so a worker never waits for the parent to read a large result (a pipe filled up and stalled it)."""
    data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    fd = os.memfd_create("slogen-result", os.MFD_CLOEXEC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        socket.send_fds(channel, [_HEADER.pack(len(data))], [fd])
    finally:
        os.close(fd)


def _receive(channel: socket.socket) -> tuple[int, bool, Any] | None:
    """The next message, or None when the worker is gone."""
    header, fds, _, _ = socket.recv_fds(channel, _HEADER.size, 1)
    if not header or not fds:
        for fd in fds:
            os.close(fd)
        return None
    try:
        (size,) = _HEADER.unpack(header)
        data = bytearray(size)
        view = memoryview(data)
        got = 0
        while got < size:
            n = os.preadv(fds[0], [view[got:]], got)
            if n == 0:
                return None
            got += n
    finally:
        os.close(fds[0])
    message: tuple[int, bool, Any] = pickle.loads(data)
    return message


def _serve(channel: socket.socket, claims: _Claims, run: Callable[[int], Any], first: int | None) -> None:
    """The whole life of a forked worker: render ``first`` if given, then claim, render, send (index, ok, result)
    to the parent until no task is left; then exit."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        while True:
            claims.permits.acquire()
            index: int | None = first
            if first is not None:
                first = None
            else:
                index = claims.claim()
            if index is None:
                claims.permits.release()
                break
            try:
                message = (index, True, run(index))
            except Exception as exc:  # the parent raises it when it reaches this index; this worker stops
                _send(channel, (index, False, _portable(exc)))
                break
            _send(channel, message)
        _send(channel, (_DONE, True, None))
    except BaseException:  # the socket closed under us (the parent left): nothing more to say
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
    def __init__(self, claims: _Claims, run: Callable[[int], Any], first: int | None) -> None:
        self.channel, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover - the child; coverage does not follow a fork
            self.channel.close()
            _serve(theirs, claims, run, first)
        theirs.close()
        self.done = False

    def receive(self) -> tuple[int, bool, Any]:
        message = _receive(self.channel)
        if message is None:
            raise WorkerDied(f"a rendering worker (pid {self.pid}) ended without its results")
        return message

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self.channel.close()
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

    def map(self, task: Callable[[State, int], Result], count: int, first: int | None = None) -> Iterator[Result]:
        """Fork the workers now and return the results of ``task(state, i)``, i = 0..count-1, in order. ``first``
        (a long task needed late) is a worker's first task, started at once instead of when its turn comes."""
        helpers = min(self.jobs, count) - 1
        if helpers <= 0:
            return (task(self.state, index) for index in range(count))
        claims = _Claims(count, helpers * WINDOW_PER_WORKER, first)
        state = self.state
        try:
            for n in range(helpers):
                self._workers.append(_Worker(claims, lambda i: task(state, i), first if n == 0 else None))
        except OSError:  # no fork (a process or memory limit): workers are only a speed-up, so do it all here
            self.__exit__(None, None, None)
            return (task(self.state, index) for index in range(count))
        return self._collect(task, claims)

    def _collect(self, task: Callable[[State, int], Result], claims: _Claims) -> Iterator[Result]:
        """The results in order. While the next one is a worker's and not here yet, this process renders a later
        one instead of waiting (within the same window of permits as the workers)."""
        received: dict[int, tuple[bool, Any]] = {}  # results ahead of the consumer, each holding a permit
        for index in range(claims.count):
            self._receive_some(received, wait=False)  # take in what is ready, so the window stays open
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
        busy = {worker.channel: worker for worker in self._workers if not worker.done}
        if not busy:
            if wait:
                raise WorkerDied("the rendering workers finished without a result that was claimed")
            return False
        readable, _, _ = select.select(list(busy), [], [], None if wait else 0)
        for channel in readable:
            worker = busy[channel]
            index, ok, value = worker.receive()
            if index == _DONE:
                worker.done = True
            else:
                received[index] = (ok, value)
        return bool(readable)
