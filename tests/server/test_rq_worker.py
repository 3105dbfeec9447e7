"""rq against our server: a real worker runs jobs and saves their results in streams.

rq records each job's result with XADD (MAXLEN ~ 10) inside MULTI/EXEC and reads
it back with XREVRANGE; a server without streams aborted the EXEC, left jobs
"started" forever and the worker still exited 0. Here a forking rq ``Worker``
(the default one) drains a queue in burst mode, and a second worker runs as
the ``rq worker`` command line, as users start it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import redis
from rq import Queue, Worker
from rq.job import JobStatus

from tests.server import rq_jobs

ROOT = Path(__file__).resolve().parents[2]


def test_worker_saves_results_in_streams(ours):
    conn = redis.Redis(port=ours.port)
    conn.flushall()
    queue = Queue("streams", connection=conn)
    ok = queue.enqueue(rq_jobs.add, 2, 3)
    bad = queue.enqueue(rq_jobs.explode, "boom")
    assert Worker([queue], connection=conn).work(burst=True)
    ok.refresh()
    bad.refresh()
    assert ok.get_status() == JobStatus.FINISHED
    assert ok.return_value() == 5
    assert bad.get_status() == JobStatus.FAILED
    assert "ValueError: boom" in (bad.latest_result().exc_string or "")
    # The results are stream entries: one per run, trimmed by MAXLEN ~ 10.
    assert conn.type(f"rq:results:{ok.id}") == b"stream"
    assert conn.xlen(f"rq:results:{ok.id}") == 1
    assert len(ok.results()) == 1


def test_rq_command_line_worker(ours):
    conn = redis.Redis(port=ours.port)
    conn.flushall()
    queue = Queue("cli", connection=conn)
    jobs = [queue.enqueue(rq_jobs.add, i, i) for i in range(5)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "rq.cli", "worker", "--burst", "--url", f"redis://127.0.0.1:{ours.port}", "cli"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for i, job in enumerate(jobs):
        job.refresh()
        assert job.get_status() == JobStatus.FINISHED, (job.id, done.stderr[-2000:])
        assert job.return_value() == 2 * i
