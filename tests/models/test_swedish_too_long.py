"""'för lång' agrees with the field it refuses: "skälet är för långt", "kommentaren är för lång"."""

from __future__ import annotations

import pytest

from models.swedish_faults import too_long


@pytest.mark.parametrize(
    "field, expected",
    [
        ("skälet", "skälet är för långt (5000 tecken): högst 1000 tecken"),
        ("diarienumret", "diarienumret är för långt (5000 tecken): högst 1000 tecken"),
        ("kommentaren", "kommentaren är för lång (5000 tecken): högst 1000 tecken"),
        ("noteringen", "noteringen är för lång (5000 tecken): högst 1000 tecken"),
    ],
)
def test_too_long_agrees_with_its_noun(field, expected):
    assert too_long(field, 5000, 1000) == expected
