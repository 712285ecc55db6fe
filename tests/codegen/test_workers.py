"""Rendering on several cores: same output as one process, results in order, errors and Ctrl-C handled, and the
workers never run more than their window ahead of the writer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codegen.workers import (
    AUTO_MAX_JOBS,
    AUTO_MIN_SLOS,
    WINDOW_PER_WORKER,
    ForkedWorkers,
    WorkerDied,
    auto_jobs,
    available_cores,
    can_fork,
    cpu_quota,
)
from tests.codegen.clirun import REPO, run, snapshot

needs_fork = pytest.mark.skipif(not can_fork(), reason="forked workers need Linux")


def _pid_and_square(_: None, index: int) -> tuple[int, int]:
    return os.getpid(), index * index


def _fail_from_three(_: None, index: int) -> int:
    if index >= 3:
        raise ValueError(f"task {index} failed")
    time.sleep(0.01)
    return index


def _mark_started(directory: Path, index: int) -> int:
    (directory / f"started-{index}").touch()
    return index


def _log_start(directory: Path, index: int) -> int:
    (directory / f"started-{index}").write_text(f"{index} {os.getpid()} {time.monotonic_ns()}")
    time.sleep(0.005)
    return index


def _fail_at_39(_: None, index: int) -> int:
    if index == 39:
        raise ValueError(f"task {index} failed")
    return index


def _mark_started_big(directory: Path, index: int) -> str:
    _mark_started(directory, index)
    return str(index) * (256 * 1024)  # four times a pipe's buffer


_PARENT = os.getpid()


def _die_in_a_worker(_: None, index: int) -> int:
    if os.getpid() != _PARENT:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.01)
    return index


class Unpicklable(Exception):
    def __init__(self) -> None:
        super().__init__("lambda inside")
        self.callback = lambda: None


def _raise_unpicklable_in_a_worker(_: None, index: int) -> int:
    if os.getpid() != _PARENT:
        raise Unpicklable()
    time.sleep(0.01)
    return index


@needs_fork
def test_results_come_back_in_order_rendered_here_and_in_workers() -> None:
    with ForkedWorkers(None, 3) as workers:
        results = list(workers.map(_pid_and_square, 200))
        assert len(_children()) == 2  # the third job is this process
    assert [square for _, square in results] == [i * i for i in range(200)]
    assert len({pid for pid, _ in results} - {os.getpid()}) >= 1
    assert not _children()


def test_one_job_runs_lazily_in_this_process(tmp_path: Path) -> None:
    with ForkedWorkers(tmp_path, 1) as workers:
        results = workers.map(_mark_started, 5)
        assert not workers.forked and not list(tmp_path.iterdir())  # nothing ran before a result was asked for
        assert next(results) == 0
        assert [p.name for p in tmp_path.iterdir()] == ["started-0"]
        assert list(results) == [1, 2, 3, 4]


@needs_fork
def test_a_failing_task_raises_its_own_error_in_task_order_and_stops_the_workers() -> None:
    seen: list[int] = []
    with pytest.raises(ValueError, match="task 3 failed"), ForkedWorkers(None, 2) as workers:
        seen.extend(workers.map(_fail_from_three, 40))
    assert seen == [0, 1, 2]  # whoever rendered 3 and the later ones, 3's error is the one raised
    assert not _children()


@needs_fork
def test_workers_stay_within_their_window_of_the_consumer(tmp_path: Path) -> None:
    """A slow writer holds the workers back: the run's text never piles up in the parent."""
    jobs = 3
    window = (jobs - 1) * WINDOW_PER_WORKER
    with ForkedWorkers(tmp_path, jobs) as workers:
        for consumed, text in enumerate(workers.map(_mark_started_big, 3 * window), start=1):
            assert text == str(consumed - 1) * (256 * 1024)
            time.sleep(0.01)  # time enough for unbounded workers to run far ahead
            started = len(list(tmp_path.iterdir()))
            assert started <= consumed + window, (consumed, started)
    assert len(list(tmp_path.iterdir())) == 3 * window


@needs_fork
def test_the_first_task_is_a_workers_first_and_comes_out_in_its_place(tmp_path: Path) -> None:
    """A long task needed last (the SLO document) starts before the others instead of holding up the end."""
    with ForkedWorkers(tmp_path, 2) as workers:
        assert list(workers.map(_log_start, 30, first=29)) == list(range(30))
    logged = [p.read_text().split() for p in tmp_path.iterdir()]
    starts = sorted((int(at), int(index)) for index, pid, at in logged if int(pid) != os.getpid())
    assert starts and starts[0][1] == 29, starts


@needs_fork
def test_a_failing_first_task_is_raised_in_its_place() -> None:
    seen: list[int] = []
    with pytest.raises(ValueError, match="task 39 failed"), ForkedWorkers(None, 2) as workers:
        seen.extend(workers.map(_fail_at_39, 40, first=39))
    assert seen == list(range(39))


@needs_fork
def test_a_failed_fork_renders_everything_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers are a speed-up: at a process limit (EAGAIN) the same results come from this process."""
    forks = 0
    real_fork = os.fork

    def fork_once_then_fail() -> int:
        nonlocal forks
        forks += 1
        if forks > 1:
            raise BlockingIOError(11, "Resource temporarily unavailable")
        return real_fork()

    monkeypatch.setattr(os, "fork", fork_once_then_fail)
    with ForkedWorkers(None, 3) as workers:
        results = list(workers.map(_pid_and_square, 20))
        assert not workers.forked and not _children()
    assert results == [(os.getpid(), i * i) for i in range(20)]


@needs_fork
def test_a_worker_killed_under_the_run_is_an_error_not_a_hang() -> None:
    with pytest.raises(WorkerDied, match="ended without its results"), ForkedWorkers(None, 2) as workers:
        list(workers.map(_die_in_a_worker, 40))


@needs_fork
def test_an_exception_that_cannot_be_pickled_arrives_as_its_text() -> None:
    with pytest.raises(RuntimeError, match="Unpicklable: lambda inside"), ForkedWorkers(None, 2) as workers:
        list(workers.map(_raise_unpicklable_in_a_worker, 40))


def _children() -> list[str]:
    return Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()


def test_auto_uses_one_process_for_a_small_run() -> None:
    assert auto_jobs(5) == 1
    assert 1 <= auto_jobs(AUTO_MIN_SLOS) <= AUTO_MAX_JOBS


@pytest.mark.parametrize(
    ("files", "quota"),
    [
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu.max": "150000 100000\n"}, 2),
        ({"cpu.max": "100000 100000\n"}, 1),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "400000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 4),
        ({"cpu.max": "garbage"}, None),
        ({}, None),
    ],
)
def test_a_cgroup_cpu_quota_narrows_the_cores(files: dict[str, str], quota: int | None, tmp_path: Path) -> None:
    """A container limited to 2 CPUs on a 64-core host must not fork 64 copies of the run."""
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert cpu_quota(tmp_path) == quota
    cores = len(os.sched_getaffinity(0))
    assert available_cores(tmp_path) == (cores if quota is None else min(cores, quota))


def _write_specs(root: Path, files: int, slos_per_file: int) -> None:
    root.mkdir(parents=True)
    for f in range(files):
        slos = "".join(
            f"  - name: s{s}\n    objective: 99.{s % 9}\n    sli:\n      events:\n"
            f'        error_query: sum(rate(req_total{{svc="f{f}",route="r{s}",code=~"5.."}}[{{{{.window}}}}]))\n'
            f'        total_query: sum(rate(req_total{{svc="f{f}",route="r{s}"}}[{{{{.window}}}}]))\n'
            f"    alerting:\n      name: F{f}S{s}Burn\n"
            for s in range(slos_per_file)
        )
        (root / f"svc-{f:02d}.yaml").write_text(f'version: "prometheus/v1"\nservice: "svc-{f:02d}"\nslos:\n{slos}')


def _generate(specs: Path, out: Path, *extra: str) -> list[str]:
    return [
        "generate",
        "-i",
        str(specs),
        "-o",
        str(out / "alerts"),
        "--tests-out",
        str(out / "tests"),
        "--dashboards-out",
        str(out / "dashboards"),
        "--docs-out",
        str(out / "docs" / "slo.md"),
        *extra,
    ]


@needs_fork
def test_any_number_of_jobs_writes_the_same_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs = tmp_path / "slo"
    _write_specs(specs, files=7, slos_per_file=3)
    trees = {}
    for jobs in ("1", "2", "3"):
        result = run(capsys, *_generate(specs, tmp_path / jobs, "--jobs", jobs))
        assert result.code == 0, result.err
        trees[jobs] = {k.replace(str(tmp_path / jobs), ""): v for k, v in snapshot(tmp_path / jobs).items()}
    files = sorted(k for k, v in trees["1"].items() if v is not None and not k.endswith(".slogen-manifest"))
    rules = [f"/alerts/svc-{f:02d}.yaml" for f in range(7)]
    tests = [f"/tests/svc-{f:02d}_test.yaml" for f in range(7)]
    boards = ["/dashboards/slo-detail.json", "/dashboards/slo-overview.json"]
    assert files == sorted([*rules, *tests, *boards, "/docs/slo.md"])
    assert trees["1"] == trees["2"] == trees["3"]


@pytest.mark.parametrize("jobs", ["0", "-1", "two", "65"])
def test_a_bad_jobs_value_is_a_usage_error(jobs: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, *_generate(REPO / "slo", tmp_path, "--jobs", jobs)).assert_clean_error(2, "--jobs")
    assert not tmp_path.joinpath("alerts").exists()


@needs_fork
@pytest.mark.slow
def test_ctrl_c_while_workers_render_changes_nothing_and_leaves_no_process(tmp_path: Path) -> None:
    specs = tmp_path / "slo"
    _write_specs(specs, files=40, slos_per_file=60)
    out = tmp_path / "out"
    (out / "alerts").mkdir(parents=True)
    (out / "alerts" / "hand-written.yaml").write_text("groups: []\n")
    before = snapshot(out)
    proc = subprocess.Popen(
        [sys.executable, "-m", "codegen", *_generate(specs, out, "--jobs", "2")],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stderr=subprocess.PIPE,
        text=True,
    )
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    deadline = time.monotonic() + 60
    while not children.read_text().split() and time.monotonic() < deadline:  # the workers exist: rendering began
        time.sleep(0.01)
    workers = [int(pid) for pid in children.read_text().split()]
    assert workers, "the run never forked its workers"
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted; nothing was changed" in err and "Traceback" not in err, err
    assert snapshot(out) == before
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text(), pid
