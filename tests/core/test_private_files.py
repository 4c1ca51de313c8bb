"""The embedded default's own secrets are the owner's alone from the first byte."""

from __future__ import annotations

import os
import stat

import pytest

from arshjul.core.private_files import write_once_private


@pytest.fixture
def open_umask():
    previous = os.umask(0)  # the most permissive umask a machine could have
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def modes_when_written(monkeypatch):
    """The file's mode at the moment each byte of the secret is written."""
    seen = []
    real_write = os.write

    def write(descriptor, data):
        seen.append(stat.S_IMODE(os.fstat(descriptor).st_mode))
        return real_write(descriptor, data)

    monkeypatch.setattr(os, "write", write)
    return seen


def test_the_file_is_the_owners_alone_whatever_the_umask(tmp_path, open_umask, modes_when_written):
    path = tmp_path / "var" / "link-secret"
    write_once_private(path, b"hemligt\n")
    assert modes_when_written == [0o600]
    assert path.read_bytes() == b"hemligt\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["link-secret"]  # no temporary left


def test_a_leftover_temporary_file_is_made_private_before_the_secret_is_written(
    tmp_path, open_umask, modes_when_written
):
    """A crash can leave a world-readable temporary of the same name (same pid after a reboot)."""
    path = tmp_path / "key.pem"
    leftover = tmp_path / f".key.pem.{os.getpid()}.tmp"
    leftover.write_bytes(b"old")
    leftover.chmod(0o644)
    write_once_private(path, b"new")
    assert modes_when_written == [0o600]
    assert path.read_bytes() == b"new" and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_first_writer_wins(tmp_path):
    path = tmp_path / "prefect-inloggning"
    write_once_private(path, b"first")
    write_once_private(path, b"second")
    assert path.read_bytes() == b"first"
