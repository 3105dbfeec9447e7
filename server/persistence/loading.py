"""Answering clients while the data set loads at start-up, as Redis does.

Redis listens before it loads, and every couple of megabytes of file it reads
(``loading-process-events-interval-bytes``, 2 MB) it serves its clients for a moment:
commands flagged ``loading`` (INFO, CONFIG, AUTH, HELLO, CLIENT …) run, the others get
``-LOADING Redis is loading the dataset in memory`` (dispatch's check), and INFO
persistence shows the progress (``loading_loaded_bytes`` of ``loading_total_bytes``,
``loading_eta_seconds``). So a client sees a server loading, not one that is down, and
a UI can draw a progress bar.

The event loop cannot run while the load holds it: `LoadingService` serves them with
the held-loop service (server/held.py, shared with busy scripts) and the normal dispatch
as its reply policy; when the load ends, asyncio takes their connections over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.held import HeldLoop, LoadingReplies

if TYPE_CHECKING:
    from server.instance import Server


class LoadAborted(Exception):
    """SHUTDOWN was served during the load: stop loading, the server exits."""


class LoadingService:
    """Connections accepted and served while the loop is held by a start-up load."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.held = HeldLoop(server, LoadingReplies())

    def poll(self) -> None:
        """Accept and answer whatever is ready now, without waiting (every couple of MB loaded)."""
        self.held.poll()
        if self.server.persistence.shutdown_done:
            raise LoadAborted

    def adopt(self) -> None:
        """The load is over: asyncio takes the connections over, with what they still owe."""
        self.held.release()
