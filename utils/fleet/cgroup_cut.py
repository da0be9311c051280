"""Cutting a local process off the network by its cgroup: the pieces the launcher's fault buttons and the chaos
tool share — where cgroup v2 is mounted, whether a cut can work here, and adding or deleting an iptables rule.

A rule matching the process's cgroup drops every packet its sockets send, whatever address they use.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

IPTABLES_TIMEOUT_S = 10.0


def cgroup2_root() -> Path | None:
    """Where the cgroup v2 hierarchy is mounted (alone, or beside v1 in hybrid mode)."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    for line in mounts:
        fields = line.split()
        if len(fields) >= 3 and fields[2] == "cgroup2":
            return Path(fields[1])
    return None


def unavailable_reason(what: str = "isolation") -> str | None:
    """None when a process can be cut off here; otherwise what is missing, in words (`what` names the feature)."""
    if os.geteuid() != 0:
        return f"{what} needs root (iptables and cgroups)"
    if shutil.which("iptables") is None:
        return f"{what} needs iptables (Debian: apt-get install iptables)"
    root = cgroup2_root()
    if root is None or not os.access(root, os.W_OK):
        return f"{what} needs a writable cgroup v2 hierarchy"
    probe = subprocess.run(["iptables", "-m", "cgroup", "--help"], capture_output=True, timeout=IPTABLES_TIMEOUT_S)
    if probe.returncode != 0:
        return f"{what} needs the iptables cgroup match"
    return None


def cgroup_drop_rule(cgroup: str) -> list[str]:
    """The OUTPUT rule that drops every packet sent by a socket of a process in `cgroup`."""
    return ["OUTPUT", "-m", "cgroup", "--path", cgroup, "-j", "DROP"]


def iptables(action: str, rule: list[str], check: bool = True) -> None:
    """`iptables -w ACTION RULE` (-I to add, -D to delete); raises RuntimeError on failure when `check`."""
    done = subprocess.run(["iptables", "-w", action, *rule], capture_output=True, text=True, timeout=IPTABLES_TIMEOUT_S)
    if check and done.returncode != 0:
        raise RuntimeError(f"iptables {action} {' '.join(rule)}: {done.stderr.strip()}")
