"""A refused follow-up entry names the field and never repeats a long paste: the refusal
goes into the audit log (`link.refused`) and onto the page."""

from __future__ import annotations

import pytest

from models.followup_import import Refusal, check_entry
from models.validation import load_definition
from tests.conftest import REGION_ORG

PASTE = "x" * 100_000


@pytest.fixture(scope="module")
def plan():
    return load_definition(REGION_ORG).goals[2027]


@pytest.mark.parametrize(
    "status, value, field",
    [("grön", PASTE, "värde"), (PASTE, "", "status")],
    ids=["value", "status"],
)
def test_a_long_paste_is_not_repeated_in_the_refusal(plan, status, value, field):
    refused = check_entry(plan, "m_hemsjukvard_avtal", status, "", value)
    assert isinstance(refused, Refusal) and refused.field == field
    assert len(refused.message) < 300, refused.message[:100]
