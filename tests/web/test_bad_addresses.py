"""A hand-typed address with a bad value is a Swedish page, never a server error or
FastAPI's English JSON."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from arshjul.core import runtime
from arshjul.core.database import session_scope
from arshjul.core.settings import get_settings
from models.cycles import store_cycle
from tests.conftest import SMALL_ORG
from tests.prefect_support import app_environment

SIGN_IN = ("regionstab", "hemligt")


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.setenv("ARSHJUL_PREFECT_AUTH_STRING", ":".join(SIGN_IN))
    with app_environment(tmp_path, SMALL_ORG):
        from arshjul.web.app import create_app

        with session_scope(runtime.engine()) as session:
            store_cycle(runtime.definition(), 2027, session=session, now=dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
        with TestClient(create_app(get_settings()), raise_server_exceptions=False) as client:
            yield client


@pytest.mark.parametrize(
    "path, status, words",
    [
        ("/regionstab/99999999999999999999", 404, "Sidan finns inte"),
        ("/regionstab/2027?simulering=kanske", 400, "ogiltigt värde"),
        ("/regionstab/tjugotjugosju", 400, "ogiltigt värde"),
    ],
    ids=["huge-year", "bad-flag", "year-not-a-number"],
)
def test_a_bad_value_in_the_address_is_a_swedish_page(client, path, status, words):
    page = client.get(path, auth=SIGN_IN)
    assert page.status_code == status, page.text[:300]
    assert words in page.text and 'lang="sv"' in page.text
    assert "Input should be" not in page.text


def test_asking_for_links_by_address_never_tells_who_is_in_the_register(client):
    """Known or not, rate-limited or not: the same answer, so nobody can probe the register."""
    answers = set()
    for address in ["erik.ekonom@example.se"] * 8 + ["ingen.alls@example.se"] * 8:
        page = client.post("/ny-lank", data={"adress": address})
        answers.add((page.status_code, page.text))
    assert len(answers) == 1, [status for status, _ in answers]
