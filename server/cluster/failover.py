"""Replica elections and promotion (Redis 7.0's clusterHandleSlaveFailover and its master side).

A replica whose master is FAIL (or that was asked with CLUSTER FAILOVER) waits 500-1000 ms plus a
second per better-placed sibling (its rank, by replication offset), then starts an election: it
takes the next current epoch and broadcasts FAILOVER_AUTH_REQUEST. Each master that serves slots
votes at most once per epoch (``last_vote_epoch``, saved before answering), and at most once per
``2 * cluster-node-timeout`` for the replicas of one master, and only if none of the slots claimed
is served by a master with a newer config epoch. With votes from a majority of the masters, the
replica takes the epoch of the election as its config epoch, claims its master's slots and tells
everyone with a PONG; the newer epoch makes every node (the old master too, when it comes back)
rebind the slots.

A manual failover (CLUSTER FAILOVER) asks the master for MFSTART: the master pauses its writers and
announces its replication offset with the PAUSED flag; once the replica has processed up to it, the
election runs with FORCEACK (masters vote although the master is not failing). FORCE skips the
master's agreement, TAKEOVER the election too (a config epoch bumped without agreement).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from server.cluster import wire
from server.cluster.state import SLOTS, TODO_FSYNC, TODO_SAVE, TODO_UPDATE_STATE, mstime, set_bits

if TYPE_CHECKING:
    from server.cluster.bus import Link
    from server.cluster.state import Cluster, Node

MF_TIMEOUT = 5000  # ms a manual failover may take
MF_PAUSE_MULT = 2  # the master pauses its writers for MF_TIMEOUT * this
MIGRATION_DELAY = 5000  # ms a master must stay orphaned before a replica moves to it


class Failover:
    """The election state of this node (the failover_auth_* and mf_* fields of clusterState)."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.auth_time = 0
        self.auth_count = 0
        self.auth_sent = False
        self.auth_rank = 0
        self.auth_epoch = 0
        self.cant_reason = ""
        # Manual failover: on the replica, the master's paused offset (-1 until it comes) and
        # whether the election may start; on the master, the replica asking.
        self.mf_master_offset = -1
        self.mf_can_start = False
        self.mf_replica: Node | None = None

    # ------------------------------------------------------------------ replica side

    def rank(self) -> int:
        """How many other replicas of my master (able to fail over) have seen more of its stream."""
        cluster = self.cluster
        me = cluster.myself
        master = me.master
        if master is None:
            return 0
        mine = cluster.replication_offset()
        return sum(1 for other in master.replicas
                   if other is not me and not other.flags & wire.NOFAILOVER and other.repl_offset > mine)

    def cron(self) -> None:
        """Every cron tick on a replica: the manual failover's progress, then the election."""
        self.check_manual_timeout()
        if self.cluster.myself.is_replica:
            self.handle_manual()
            self.handle()
            self.migrate_if_needed()

    def handle(self) -> None:
        cluster = self.cluster
        me = cluster.myself
        master = me.master
        now = mstime()
        timeout = cluster.node_timeout
        auth_timeout = max(timeout * 2, 2000)
        retry_time = auth_timeout * 2
        auth_age = now - self.auth_time
        quorum = cluster.size // 2 + 1
        manual = bool(cluster.mf_end) and self.mf_can_start
        if (me.is_master or master is None or (not master.failed and not manual)
                or (cluster.setting("cluster-replica-no-failover") and not manual) or master.numslots == 0):
            self.cant_reason = ""
            return
        data_age = cluster.replication_data_age()
        if data_age > timeout:
            data_age -= timeout
        factor = cluster.server.config.get_int("cluster-replica-validity-factor")
        ping_period = cluster.server.config.get_int("repl-ping-replica-period")
        if factor and data_age > ping_period * 1000 + timeout * factor and not manual:
            self._cant("Disconnected from master for longer than allowed. Please check the "
                       "'cluster-replica-validity-factor' configuration option.")
            return
        if auth_age > retry_time:
            self.auth_time = now + 500 + random.randrange(500)
            self.auth_count = 0
            self.auth_sent = False
            self.auth_rank = self.rank()
            self.auth_time += self.auth_rank * 1000
            if cluster.mf_end:
                self.auth_time = now
                self.auth_rank = 0
            cluster.log("warning", f"Start of election delayed for {self.auth_time - now} milliseconds "
                                   f"(rank #{self.auth_rank}, offset {cluster.replication_offset()}).")
            cluster.broadcast_pong(local_replicas_only=True)
            return
        if not self.auth_sent and not cluster.mf_end:
            rank = self.rank()
            if rank > self.auth_rank:
                added = (rank - self.auth_rank) * 1000
                self.auth_time += added
                self.auth_rank = rank
                cluster.log("warning", f"Replica rank updated to #{rank}, added {added} milliseconds of delay.")
        if now < self.auth_time:
            self._cant("Waiting the delay before I can start a new failover.")
            return
        if auth_age > auth_timeout:
            self._cant("Failover attempt expired.")
            return
        if not self.auth_sent:
            cluster.current_epoch += 1
            self.auth_epoch = cluster.current_epoch
            cluster.log("warning", f"Starting a failover election for epoch {cluster.current_epoch}.")
            mflags = wire.MF_FORCEACK if cluster.mf_end else 0
            cluster.broadcast(cluster.message(wire.AUTH_REQUEST, mflags=mflags))
            self.auth_sent = True
            cluster.later(TODO_SAVE | TODO_UPDATE_STATE | TODO_FSYNC)
            return
        if self.auth_count >= quorum:
            cluster.log("warning", "Failover election won: I'm the new master.")
            if me.config_epoch < self.auth_epoch:
                me.config_epoch = self.auth_epoch
                cluster.log("warning", f"configEpoch set to {me.config_epoch} after successful failover")
            self.replace_master()
        else:
            self._cant("Waiting for votes, but majority still not reached.")

    def _cant(self, reason: str) -> None:
        if reason != self.cant_reason:
            self.cant_reason = reason
            self.cluster.log("notice", f"Currently unable to failover: {reason}")

    def replace_master(self) -> None:
        """Become the master of my master's slots (clusterFailoverReplaceYourMaster)."""
        cluster = self.cluster
        me = cluster.myself
        old = me.master
        if me.is_master or old is None:
            return
        cluster.set_node_as_master(me)
        cluster.replicate_from(None)
        for slot in range(SLOTS):
            if old.owns(slot):
                cluster.del_slot(slot)
                cluster.add_slot(me, slot)
        cluster.update_state()
        cluster.save_or_die(True)
        cluster.broadcast_pong()
        self.reset_manual()

    # ------------------------------------------------------------------ replica migration

    def migrate_if_needed(self) -> None:
        """A master left without working replicas (orphaned) gets one from the best-served
        master, if this replica is the one chosen (clusterCron's census, clusterHandleSlaveMigration)."""
        cluster = self.cluster
        me = cluster.myself
        if not cluster.setting("cluster-allow-replica-migration") or me.master is None:
            return
        orphaned = max_replicas = mine = 0
        for node in cluster.nodes.values():
            if node.flags & (wire.MYSELF | wire.NOADDR | wire.HANDSHAKE) or not node.is_master or node.failed:
                continue
            working = node.working_replicas()
            if working == 0 and node.numslots > 0 and node.flags & wire.MIGRATE_TO:
                orphaned += 1
            max_replicas = max(max_replicas, working)
            if me.master is node:
                mine = working
        if orphaned and max_replicas >= 2 and mine == max_replicas:
            self.migrate(max_replicas)

    def migrate(self, max_replicas: int) -> None:
        cluster = self.cluster
        me = cluster.myself
        master = me.master
        if not cluster.state_ok or master is None:
            return
        working = sum(1 for replica in master.replicas if not replica.failed and not replica.timed_out)
        if working <= cluster.server.config.get_int("cluster-migration-barrier"):
            return
        now = mstime()
        target: Node | None = None
        candidate = me
        for node in cluster.nodes.values():
            replicas = node.working_replicas() if node.is_master else 0
            orphaned = (node.is_master and not node.failed and bool(node.flags & wire.MIGRATE_TO)
                        and replicas == 0)
            if orphaned:
                if target is None and node.numslots > 0:
                    target = node
                if not node.orphaned_time:
                    node.orphaned_time = now
            else:
                node.orphaned_time = 0
            if replicas == max_replicas:
                for replica in node.replicas:
                    if replica.name < candidate.name:
                        candidate = replica
        if target is not None and candidate is me and now - target.orphaned_time > MIGRATION_DELAY:
            cluster.log("warning", f"Migrating to orphaned master {target.name.decode()}")
            cluster.set_my_master(target)
            cluster.later(TODO_SAVE | TODO_UPDATE_STATE)

    # ------------------------------------------------------------------ master side

    def vote(self, node: Node, msg: wire.Message) -> None:
        """FAILOVER_AUTH_REQUEST from ``node``: grant our vote if nothing forbids it."""
        cluster = self.cluster
        me = cluster.myself
        master = node.master
        if me.is_replica or me.numslots == 0:
            return
        name = node.name.decode()
        if msg.current_epoch < cluster.current_epoch:
            cluster.log("warning", f"Failover auth denied to {name}: reqEpoch ({msg.current_epoch}) < "
                                   f"curEpoch({cluster.current_epoch})")
            return
        if cluster.last_vote_epoch == cluster.current_epoch:
            cluster.log("warning", f"Failover auth denied to {name}: already voted for epoch "
                                   f"{cluster.current_epoch}")
            return
        force = bool(msg.mflags & wire.MF_FORCEACK)
        if node.is_master or master is None or (not master.failed and not force):
            reason = ("it is a master node" if node.is_master else
                      "I don't know its master" if master is None else "its master is up")
            cluster.log("warning", f"Failover auth denied to {name}: {reason}")
            return
        now = mstime()
        if now - master.voted_time < cluster.node_timeout * 2:
            cluster.log("warning", f"Failover auth denied to {name}: can't vote about this master before "
                                   f"{cluster.node_timeout * 2 - (now - master.voted_time)} milliseconds")
            return
        for slot in set_bits(int.from_bytes(msg.myslots, "little")):
            owner = cluster.slots[slot]
            if owner is None or owner.config_epoch <= msg.config_epoch:
                continue
            cluster.log("warning", f"Failover auth denied to {name}: slot {slot} epoch ({owner.config_epoch}) > "
                                   f"reqEpoch ({msg.config_epoch})")
            return
        cluster.last_vote_epoch = cluster.current_epoch
        master.voted_time = now
        cluster.save_or_die(True)
        cluster.send(node.link, cluster.message(wire.AUTH_ACK))
        cluster.log("warning", f"Failover auth granted to {name} for epoch {cluster.current_epoch}")

    def message(self, link: Link, sender: Node, msg: wire.Message, sender_current_epoch: int) -> None:
        """AUTH_REQUEST, AUTH_ACK and MFSTART, once the sender is known."""
        cluster = self.cluster
        if msg.type == wire.AUTH_REQUEST:
            self.vote(sender, msg)
        elif msg.type == wire.AUTH_ACK:
            if sender.is_master and sender.numslots > 0 and sender_current_epoch >= self.auth_epoch:
                self.auth_count += 1
                cluster.later_call(self.handle)
        elif msg.type == wire.MFSTART:
            if sender.master is not cluster.myself:
                return
            self.reset_manual()
            cluster.mf_end = mstime() + MF_TIMEOUT
            self.mf_replica = sender
            cluster.server.pause(MF_TIMEOUT * MF_PAUSE_MULT / 1000, "write")
            cluster.log("warning", f"Manual failover requested by replica {sender.name.decode()}.")
            cluster.send_ping(link, wire.PING)

    # ------------------------------------------------------------------ manual failover

    def manual(self, force: bool, takeover: bool) -> None:
        """CLUSTER FAILOVER [FORCE|TAKEOVER] on a replica (its preconditions already checked)."""
        cluster = self.cluster
        self.reset_manual()
        cluster.mf_end = mstime() + MF_TIMEOUT
        if takeover:
            cluster.log("warning", "Taking over the master (user request).")
            cluster.bump_epoch()
            self.replace_master()
        elif force:
            cluster.log("warning", "Forced failover user request accepted.")
            self.mf_can_start = True
        else:
            cluster.log("warning", "Manual failover user request accepted.")
            master = cluster.myself.master
            if master is not None:
                cluster.send(master.link, cluster.message(wire.MFSTART))

    def master_paused_at(self, offset: int) -> None:
        """The master announced its offset while paused for our manual failover."""
        if self.mf_master_offset == -1:
            self.mf_master_offset = offset
            self.cluster.log("warning", f"Received replication offset for paused master manual failover: "
                                        f"{offset}")
            self.cluster.later_call(self.handle_manual)

    def handle_manual(self) -> None:
        cluster = self.cluster
        if not cluster.mf_end or self.mf_can_start or self.mf_master_offset == -1:
            return
        if cluster.replication_offset() >= self.mf_master_offset:
            self.mf_can_start = True
            cluster.log("warning", "All master replication stream processed, manual failover can start.")
            cluster.later_call(self.handle)

    def check_manual_timeout(self) -> None:
        cluster = self.cluster
        if cluster.mf_end and cluster.mf_end < mstime():
            cluster.log("warning", "Manual failover timed out.")
            self.reset_manual()

    def reset_manual(self) -> None:
        cluster = self.cluster
        if cluster.mf_end and cluster.myself.is_master and cluster.server.pause_mode is not None:
            cluster.server.unpause()
        cluster.mf_end = 0
        self.mf_can_start = False
        self.mf_replica = None
        self.mf_master_offset = -1
