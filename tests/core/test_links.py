"""Signed links: a token proves who it was made for and what it allows, and nothing else
passes — any changed byte, another key, an expired one."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arshjul.core.links import BadToken, LinkConfigError, LinkSigner, link_keys, redact_tokens
from arshjul.core.settings import Settings
from models.states import Action

NOW = dt.datetime(2027, 3, 1, 9, tzinfo=dt.UTC)
SIGNER = LinkSigner(["k" * 40])
TOKEN = SIGNER.make(
    person="erik.ekonom",
    instance_id=17,
    actions={Action.submit},
    version=3,
    generation=1,
    expires=NOW + dt.timedelta(days=60),
    token_id="0123456789abcdef",
)


def test_a_token_carries_its_claims():
    claims = SIGNER.check(TOKEN, now=NOW)
    assert (claims.person, claims.instance_id, claims.actions, claims.version, claims.generation) == (
        "erik.ekonom",
        17,
        frozenset({Action.submit}),
        3,
        1,
    )
    assert claims.token_id == "0123456789abcdef" and not claims.personal


@settings(max_examples=400, deadline=None)
@given(position=st.integers(min_value=0, max_value=len(TOKEN) - 1), replacement=st.characters(codec="ascii"))
def test_any_changed_byte_is_refused(position, replacement):
    if replacement == TOKEN[position]:
        replacement = "A" if TOKEN[position] != "A" else "B"
    altered = TOKEN[:position] + replacement + TOKEN[position + 1 :]
    with pytest.raises(BadToken) as refused:
        SIGNER.check(altered, now=NOW)
    assert refused.value.reason == "forged"


@pytest.mark.parametrize("position", range(len(TOKEN)))
def test_every_position_with_every_alphabet_letter_is_refused(position):
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
    for letter in alphabet:
        if letter != TOKEN[position]:
            with pytest.raises(BadToken):
                SIGNER.check(TOKEN[:position] + letter + TOKEN[position + 1 :], now=NOW)


def test_truncated_or_extended_tokens_are_refused():
    for altered in (TOKEN[:-1], TOKEN + "A", TOKEN[1:], "", "." * 10, TOKEN.replace(".", "")):
        with pytest.raises(BadToken):
            SIGNER.check(altered, now=NOW)


def test_expired_is_told_apart_and_names_its_person():
    with pytest.raises(BadToken) as expired:
        SIGNER.check(TOKEN, now=NOW + dt.timedelta(days=61))
    assert expired.value.reason == "expired" and expired.value.claims.person == "erik.ekonom"


def test_keys_rotate_the_old_key_still_verifies_the_new_one_signs():
    rotated = LinkSigner(["n" * 40, "k" * 40])
    assert rotated.check(TOKEN, now=NOW).person == "erik.ekonom"
    fresh = rotated.make(person="p", instance_id=None, expires=NOW + dt.timedelta(days=1))
    with pytest.raises(BadToken):
        SIGNER.check(fresh, now=NOW)  # the old set does not know the new key
    with pytest.raises(BadToken):
        LinkSigner(["n" * 40]).check(TOKEN, now=NOW)  # the old key retired: its links stop


def test_csrf_is_tied_to_the_link_and_its_state():
    claims = SIGNER.check(TOKEN, now=NOW)
    other = SIGNER.check(
        SIGNER.make(person="erik.ekonom", instance_id=17, version=4, expires=NOW + dt.timedelta(days=1)), now=NOW
    )
    assert SIGNER.csrf_valid(claims, SIGNER.csrf_token(claims))
    assert not SIGNER.csrf_valid(other, SIGNER.csrf_token(claims))
    assert not SIGNER.csrf_valid(claims, "")


def test_keys_are_generated_on_the_embedded_default_and_required_in_production(tmp_path):
    embedded = Settings(home=tmp_path)
    first = link_keys(embedded)
    assert first == link_keys(embedded) and len(first[0]) >= 32  # made once, then kept
    assert (tmp_path / "link-secret").stat().st_mode & 0o077 == 0
    with pytest.raises(LinkConfigError, match="ARSHJUL_LINK_SECRETS saknas"):
        link_keys(Settings(home=tmp_path, database_url="postgresql://db/arshjul"))
    with pytest.raises(LinkConfigError, match="minst 32 tecken"):
        link_keys(Settings(home=tmp_path, link_secrets="kort"))
    assert link_keys(Settings(home=tmp_path, link_secrets=f"{'a' * 32}, {'b' * 32}")) == ["a" * 32, "b" * 32]


def test_tokens_are_redacted_from_log_lines():
    line = f'198.51.100.7 - "GET /steg/{TOKEN} HTTP/1.1" 200 and "POST /mina-steg/{TOKEN}/sparra"'
    redacted = redact_tokens(line)
    assert TOKEN not in redacted and "/steg/[token]" in redacted and "/mina-steg/[token]/sparra" in redacted
