"""Running a hypothesis state machine that compares our server with redis-server."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from tests.servers import ServerProcess


def run_machine(machine: type[RuleBasedStateMachine], ours: ServerProcess, real: ServerProcess,
                examples: int, steps: int, **attrs: object) -> None:
    """Run ``machine`` given both servers' ports (``ours_port``, ``real_port``) and ``attrs`` as
    class attributes, ``examples`` runs of up to ``steps`` rules, with no deadline (shared machine)."""
    run = type(machine.__name__, (machine,), {"ours_port": ours.port, "real_port": real.port, **attrs})
    run_state_machine_as_test(
        run,
        settings=settings(max_examples=examples, stateful_step_count=steps, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow]),
    )
