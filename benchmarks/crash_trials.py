"""Long crash-safety run: 100 kill -9 trials per fsync policy (CI runs 20, in tests/).

Each trial writes acknowledged INCRs until the server is killed with SIGKILL,
restarts it on the same AOF and checks that every acknowledged write is there
(see ``tests/crash.py``). Usage::

    python benchmarks/crash_trials.py [--trials 100] [--fsync always,everysec] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.crash import run_trials  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--fsync", default="always,everysec")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = {}
    failed = False
    for policy in args.fsync.split(","):
        work = Path(tempfile.mkdtemp(prefix=f"crash-{policy}-"))
        try:
            report = run_trials(work, args.trials, policy, seed=42)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        lost = sum(report.lost)
        results[policy] = {
            "trials": report.trials,
            "acknowledged_writes": report.writes,
            "lost_writes": lost,
            "worst_trial_lost": max(report.lost),
            "median_writes_per_second": round(statistics.median(report.rates), 1),
            "median_restart_seconds": round(statistics.median(report.restart_seconds), 3),
            "failures": report.failures,
        }
        if report.failures or (policy == "always" and lost):
            failed = True
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for policy, r in results.items():
            print(f"appendfsync {policy}: {r['trials']} trials, {r['acknowledged_writes']} acknowledged writes, "
                  f"{r['lost_writes']} lost (worst trial {r['worst_trial_lost']}), "
                  f"{r['median_writes_per_second']} writes/s, restart {r['median_restart_seconds']} s"
                  + (f", FAILURES: {r['failures']}" if r["failures"] else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
