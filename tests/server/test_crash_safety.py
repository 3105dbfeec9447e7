"""Crash safety: kill -9 during a write burst loses no acknowledged write and the server restarts.

With ``appendfsync always`` every acknowledged INCR must be there after the
restart, over 20 trials. With ``everysec`` Redis promises at most about one
second of writes (two in the worst case); writes reach the kernel before the
reply here, so a killed process (unlike a crashed machine) loses none either,
and the test holds it to the promised bound. ``benchmarks/crash_trials.py``
runs the same trials 100 times.
"""

from __future__ import annotations

from tests.crash import run_trials


def test_appendfsync_always_loses_nothing(tmp_path):
    report = run_trials(tmp_path, trials=20, fsync="always", seed=1)
    assert report.trials == 20
    assert not report.failures, report.failures
    assert sum(report.lost) == 0, report.lost
    assert report.writes > 20  # every burst got writes acknowledged before the kill


def test_appendfsync_everysec_loses_at_most_two_seconds(tmp_path):
    report = run_trials(tmp_path, trials=6, fsync="everysec", seed=2)
    assert report.trials == 6
    assert not report.failures, report.failures
    for lost, rate in zip(report.lost[1:], report.rates, strict=True):
        assert lost <= 2 * rate + 1, (lost, rate)
