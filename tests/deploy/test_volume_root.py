"""A service's data on a cluster volume: the volume's root is not the service's (Kubernetes mounts it owned by
root, shared through the pod's fsGroup), so a service leaves its mode alone and makes its own folder owner-only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from utils.datafiles import secure_process_files


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")
def test_a_volume_root_owned_by_another_user_is_left_as_it_is(tmp_path: Path) -> None:
    volume = tmp_path / "data"
    volume.mkdir(mode=0o2775)
    volume.chmod(0o2775)
    os.chown(volume, 12345, os.getegid())  # as a cluster volume's root: someone else's, shared with our group
    own = volume / "books-0"
    secure_process_files(volume, own)
    assert stat.S_IMODE(volume.stat().st_mode) == 0o2775
    assert stat.S_IMODE(own.stat().st_mode) == 0o700


def test_an_own_data_folder_is_made_owner_only(tmp_path: Path) -> None:
    volume = tmp_path / "data"
    volume.mkdir()
    volume.chmod(0o755)
    secure_process_files(volume, volume / "payment_service")
    assert stat.S_IMODE(volume.stat().st_mode) == 0o700
