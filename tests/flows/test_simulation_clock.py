"""The simulated clock kept between processes (flows/simulation_clock.py)."""

from __future__ import annotations

import datetime as dt

from flows.simulation_clock import keep_time, kept_time


def test_the_kept_moment_is_the_last_one_written(tmp_path):
    path = tmp_path / "simulering-abc.klocka"
    assert kept_time(path) is None  # nothing kept yet: the last audit entry decides
    keep_time(path, dt.datetime(2027, 5, 19, 8, tzinfo=dt.UTC))
    keep_time(path, dt.datetime(2027, 5, 20, 8, tzinfo=dt.UTC))
    assert kept_time(path) == dt.datetime(2027, 5, 20, 8, tzinfo=dt.UTC)
    assert not path.with_suffix(".tmp").exists()


def test_a_broken_or_naive_kept_moment_is_ignored(tmp_path):
    path = tmp_path / "simulering-abc.klocka"
    path.write_text("inte en tidpunkt")
    assert kept_time(path) is None
    path.write_text("2027-05-20T08:00:00")
    assert kept_time(path) is None
