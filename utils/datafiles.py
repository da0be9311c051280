"""Data at rest readable by its owner only: files 0600 in folders 0700, for every service (docs/operations.md).

A process umask of 077 covers what it creates from now on (SQLite's -wal and -shm files, Raft logs, snapshots);
`secure_tree` fixes what an older version left behind with the default modes.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700
PROCESS_UMASK = 0o077


def secure_tree(root: Path) -> int:
    """Makes `root` (created if missing) and everything under it owner-only; returns how many modes it changed.

    Symbolic links are not followed: a link's target is not ours to change.
    """
    root.mkdir(parents=True, exist_ok=True)
    changed = _chmod(root, FOLDER_MODE)
    for folder, folders, files in os.walk(root, followlinks=False):
        for name in folders:
            changed += _chmod(Path(folder) / name, FOLDER_MODE)
        for name in files:
            changed += _chmod(Path(folder) / name, FILE_MODE)
    return changed


def secure_process_files(data_dir: Path, own: Path | None = None) -> int:
    """At a service's start: the umask for what it will create, then the modes of what is already there.

    `own`: the service's folder under `data_dir` (the whole tree when None); `data_dir` itself is made 0700 either
    way, without touching the other services' folders inside it.
    """
    os.umask(PROCESS_UMASK)
    if own is None:
        return secure_tree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    # A cluster volume's root may belong to root and reach the service through its group (Kubernetes fsGroup,
    # deploy/k8s): changing its mode would fail, and what the service keeps inside it is owner-only anyway.
    ours = data_dir.stat().st_uid == os.geteuid()
    return (_chmod(data_dir, FOLDER_MODE) if ours else 0) + secure_tree(own)


def write_secret(path: Path, data: bytes) -> None:
    """Writes a secret file 0600 (in a 0700 folder) atomically: created with its final mode, never readable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _chmod(path.parent, FOLDER_MODE)
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(partial, path)


def _chmod(path: Path, mode: int) -> int:
    try:
        info = path.lstat()
    except FileNotFoundError:  # removed meanwhile (a SQLite -shm file, a Raft snapshot being replaced)
        return 0
    if stat.S_ISLNK(info.st_mode) or stat.S_IMODE(info.st_mode) == mode:
        return 0
    try:
        path.chmod(mode)
    except FileNotFoundError:
        return 0
    return 1
