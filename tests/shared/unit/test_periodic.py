"""A worker's housekeeping thread: first run one interval after the start, a failed run
logged and the next one run, and nothing more once its stop event is set."""

from __future__ import annotations

import queue
import threading

import pytest

from shared.runtime.periodic import run_every


def test_nothing_runs_before_the_first_interval_has_passed():
    runs: list[int] = []
    stop = threading.Event()
    thread = run_every(
        3600, lambda: runs.append(1), name="test-task", description="testing", stop=stop
    )
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive() and runs == []


def test_a_failed_run_is_logged_and_the_next_one_runs_until_stopped(caplog):
    runs: queue.Queue[int] = queue.Queue()
    count = iter(range(1, 1_000_000))

    def task() -> None:
        run = next(count)
        runs.put(run)
        if run == 1:
            raise OSError("the database went away")

    stop = threading.Event()
    thread = run_every(0.01, task, name="test-task", description="testing the task", stop=stop)
    try:
        assert thread.daemon and thread.name == "test-task"
        assert [runs.get(timeout=10) for _ in range(3)] == [1, 2, 3]
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert "testing the task failed" in caplog.text and "the database went away" in caplog.text


def test_an_interval_of_zero_is_refused_rather_than_run_in_a_tight_loop():
    for interval in (0, -1):
        with pytest.raises(ValueError, match="positive"):
            run_every(interval, lambda: None, name="test-task", description="testing")
