"""The project's shape, as the developers' guide fixes it: `calendar/` holds data only,
no module shadows the standard library, and no module grows past about 400 lines."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("arshjul", "flows", "tasks", "models", "notifications")


def python_files(*folders: str) -> list[Path]:
    return sorted(
        path for folder in folders for path in (ROOT / folder).rglob("*.py") if "migrations" not in path.parts
    )


def test_the_calendar_folder_is_data_only():
    files = [path for path in (ROOT / "calendar").rglob("*") if path.is_file()]
    assert files, "calendar/ should hold the organisations' folders"
    assert [path for path in files if path.suffix not in (".yaml", ".yml", ".md", ".ics")] == []


@pytest.mark.parametrize("folder", PACKAGES)
def test_no_module_shadows_the_standard_library(folder):
    shadowing = [path for path in python_files(folder) if path.stem in sys.stdlib_module_names]
    assert shadowing == []


def test_no_module_is_over_four_hundred_lines():
    long = {
        str(path.relative_to(ROOT)): n
        for path in python_files(*PACKAGES)
        if (n := len(path.read_text().splitlines())) > 400
    }
    assert long == {}
