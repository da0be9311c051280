"""Cutting a local node off from everyone: each chaos-fleet process lives in a cgroup of its own, and
isolating it adds iptables rules that drop every packet its sockets send (matched by cgroup) and every
packet to or from its own loopback address. Healing deletes exactly those rules.

Why not just -s/-d 127.0.0.x: a connection a process opens to another loopback address gets 127.0.0.1 as its
source, so address rules alone would let a cut-off leader keep replicating through its outgoing connections.
"""

from __future__ import annotations

import logging

from utils.fleet.cgroup_cut import cgroup2_root, cgroup_drop_rule, iptables, unavailable_reason

log = logging.getLogger("chaos.isolation")
__all__ = ["LoopbackIsolation", "cgroup2_root", "unavailable_reason"]


class LoopbackIsolation:
    """One chaos run's isolation rules; `close()` removes every rule and cgroup it made."""

    def __init__(self, run_id: str) -> None:
        root = cgroup2_root()
        if root is None:
            raise RuntimeError("no cgroup v2 hierarchy")
        self.root = root
        self.run_id = run_id
        self._rules: dict[str, list[list[str]]] = {}

    def cgroup_name(self, node: str) -> str:
        return f"chaos-{self.run_id}-{node}"

    def adopt(self, node: str, pid: int) -> None:
        """Moves a just-started process into the node's cgroup, before it opens any socket."""
        group = self.root / self.cgroup_name(node)
        group.mkdir(exist_ok=True)
        (group / "cgroup.procs").write_text(str(pid))

    def isolate(self, node: str, host: str) -> None:
        if node in self._rules:
            return
        rules = [
            cgroup_drop_rule(self.cgroup_name(node)),
            ["OUTPUT", "-d", f"{host}/32", "-j", "DROP"],
            ["OUTPUT", "-s", f"{host}/32", "-j", "DROP"],
        ]
        added: list[list[str]] = []
        try:
            for rule in rules:
                iptables("-I", rule)
                added.append(rule)
        except RuntimeError:
            for rule in added:
                iptables("-D", rule, check=False)
            raise
        self._rules[node] = added
        log.info("isolated", extra={"node": node, "host": host})

    def reconnect(self, node: str) -> None:
        for rule in self._rules.pop(node, []):
            iptables("-D", rule, check=False)

    def isolated(self) -> list[str]:
        return sorted(self._rules)

    def close(self) -> None:
        for node in list(self._rules):
            self.reconnect(node)
        for group in self.root.glob(f"chaos-{self.run_id}-*"):
            try:
                group.rmdir()  # only empty once its processes have exited
            except OSError:
                log.warning("cgroup left behind", extra={"cgroup": str(group)})
