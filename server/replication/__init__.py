"""Replication with Redis's own protocol: see ``core`` (both roles), ``master`` (one attached
replica), ``replica`` (the link to our master) and ``backlog``."""

from server.replication.core import Replication

__all__ = ["Replication"]
