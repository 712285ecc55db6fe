"""Rendering on several cores: worker processes forked after compilation, results back in order.

Once compiled, each spec file's rules and promtool tests are a pure function of its plans. Workers forked at that
point inherit the plans (nothing is pickled on the way in: a task is a function and an index) and send back only
their results, each through its own pipe. The parent keeps everything that must stay single: the output order,
the claims on paths, the writer's all-or-nothing transaction and every message.

Plain ``os.fork`` and pipes rather than ``multiprocessing.Pool``: the pool's feeder and result threads and their
locks made Ctrl-C hang it now and then (its ``terminate`` waits on a lock an interrupted thread held). Here the
parent has no threads; a worker writes its results in task order and blocks once a result fills its pipe, so
workers run at most about one result ahead of the writer (back-pressure, not the run's text piling up in memory),
ignore Ctrl-C, and are killed when the ``with`` block is left, whichever way. A worker never returns into the
parent's code: it leaves with ``os._exit``. Where ``fork`` is unavailable (Windows; macOS only offers it unsafely)
or one job is asked for, the same calls run in the parent, lazily, one at a time.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, BinaryIO, Generic, TypeVar

State = TypeVar("State")
Result = TypeVar("Result")

AUTO_MIN_SLOS = 1000
"""Below this, ``--jobs auto`` stays in one process: a run takes under 2 s, and forking workers and piping their
text back gains less than it costs (bench/README.md)."""

MAX_JOBS = 64  # a typo such as ``-j 1000`` must not fork a thousand copies of the run


def available_cores() -> int:
    """Cores this process may run on (the CPU affinity mask, which containers and ``taskset`` narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    return sys.platform == "linux" and hasattr(os, "fork")


def auto_jobs(slo_count: int) -> int:
    """``--jobs auto``: every available core for a large run, one process for a small one."""
    return min(available_cores(), MAX_JOBS) if slo_count >= AUTO_MIN_SLOS else 1


class WorkerDied(RuntimeError):
    """A worker ended without sending its result (killed, or out of memory)."""


def _serve(write_fd: int, work: Callable[[], Iterator[Any]]) -> None:
    """The whole life of a forked worker: each result (or the exception that stopped it) down the pipe, then exit."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        with os.fdopen(write_fd, "wb") as pipe:
            try:
                for result in work():
                    pickle.dump((True, result), pipe, pickle.HIGHEST_PROTOCOL)
                    pipe.flush()
            except Exception as exc:
                pickle.dump((False, _portable(exc)), pipe, pickle.HIGHEST_PROTOCOL)
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
    def __init__(self, work: Callable[[], Iterator[Any]]) -> None:
        read_fd, write_fd = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover - the child; coverage does not follow a fork
            os.close(read_fd)
            _serve(write_fd, work)
        os.close(write_fd)
        self.pipe: BinaryIO = os.fdopen(read_fd, "rb")

    def next_result(self) -> Any:
        try:
            ok, value = pickle.load(self.pipe)
        except EOFError:
            raise WorkerDied(f"a rendering worker (pid {self.pid}) ended without its result") from None
        if not ok:
            raise value
        return value

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self.pipe.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


class ForkedWorkers(Generic[State]):
    """``with ForkedWorkers(state, jobs) as workers``: run ``task(state, index)`` calls on up to ``jobs`` processes.

    Workers are forked when a call is made, so they see ``state`` as it is then, and are gone after the block.
    """

    def __init__(self, state: State, jobs: int) -> None:
        self.state = state
        self.jobs = jobs if can_fork() else 1
        self._workers: list[_Worker] = []

    def __enter__(self) -> ForkedWorkers[State]:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        for worker in self._workers:  # done, failed or interrupted: nothing a worker still does is wanted
            worker.stop()
        self._workers.clear()

    def _fork(self, work: Callable[[], Iterator[Any]]) -> _Worker:
        worker = _Worker(work)
        self._workers.append(worker)
        return worker

    def submit(self, task: Callable[[State, int], Result], index: int) -> Callable[[], Result]:
        """Start ``task(state, index)`` in a worker of its own; call the returned function for the result (it
        re-raises the task's exception)."""
        if self.jobs <= 1:
            return lambda: task(self.state, index)
        worker = self._fork(lambda: iter((task(self.state, index),)))
        return worker.next_result

    def map(self, task: Callable[[State, int], Result], count: int) -> Iterator[Result]:
        """``task(state, i)`` for i in 0..count-1, in that order; worker w computes i = w, w + jobs, ..."""
        jobs = min(self.jobs, count)
        if jobs <= 1:
            yield from (task(self.state, index) for index in range(count))
            return

        def share(first: int) -> Callable[[], Iterator[Result]]:
            return lambda: (task(self.state, index) for index in range(first, count, jobs))

        workers = [self._fork(share(first)) for first in range(jobs)]
        for index in range(count):
            yield workers[index % jobs].next_result()
