"""Signed links: what a link in a mail proves, made and checked in one place, for the mail
(notifications) and the web app alike.

A link carries a token: a small JSON claim signed with HMAC-SHA256 (itsdangerous) under
the organisation's link keys. The claim binds

- `p` the person the link was made for (their key in the organisation),
- `s` the step instance (none for the personal "Mina steg" link),
- `a` the actions the person may take with it ("s" submit, "a" approve, "r" return;
  empty: a link that only shows),
- `v` the step's state version when the link was made (a link works once per state),
- `g` the person's link generation (raising it revokes every earlier link),
- `e` the expiry (Unix seconds), and `t` a token id that the audit records instead of
  the token itself.

Keys: `ARSHJUL_LINK_SECRETS`, comma-separated, the first signs and all are accepted (to
rotate: put the new key first, keep the old one until its links have expired). The
embedded default generates one under `ARSHJUL_HOME` on first start; with a production
database the setting is required.

Checking a token here proves only that we made it and that it has not expired; whether
it still fits the step (version, generation, the person's rights) is the caller's
question, asked against the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadData, URLSafeSerializer
from itsdangerous.encoding import base64_decode, base64_encode

from arshjul.core.private_files import write_once_private
from arshjul.core.settings import Settings
from models.states import Action
from models.tables import StepInstance, stored_id

SALT = "arshjul.lank.v1"
KEY_FILE = "link-secret"
ACTION_LETTERS = {Action.submit: "s", Action.approve: "a", Action.send_back: "r"}
LETTER_ACTIONS = {letter: action for action, letter in ACTION_LETTERS.items()}
# What a token may consist of: URL-safe base64 and the separator, nothing else.
_TOKEN_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
MAX_TOKEN_LENGTH = 600


class LinkConfigError(RuntimeError):
    """The link keys are missing or unusable; the message is Swedish."""


class BadToken(ValueError):
    """A token we did not make, or that was changed, or that has expired."""

    def __init__(self, reason: str, claims: LinkClaims | None = None):
        super().__init__(reason)
        self.reason = reason  # "forged" or "expired"
        self.claims = claims  # known only for a genuine token that has expired


@dataclass(frozen=True)
class LinkClaims:
    token_id: str
    person: str
    instance_id: int | None
    actions: frozenset[Action]
    version: int
    generation: int
    expires: dt.datetime

    @property
    def personal(self) -> bool:
        return self.instance_id is None


def link_keys(settings: Settings) -> list[str]:
    """The link keys, newest (signing) first; generated under home on the embedded default."""
    if settings.link_secrets:
        keys = [key.strip() for key in settings.link_secrets.split(",") if key.strip()]
        short = [key for key in keys if len(key) < 32]
        if not keys or short:
            raise LinkConfigError(
                "ARSHJUL_LINK_SECRETS måste innehålla minst en nyckel på minst 32 tecken "
                "(t.ex. från `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
            )
        return keys
    if not settings.uses_embedded_database:
        raise LinkConfigError(
            "ARSHJUL_LINK_SECRETS saknas: i produktion måste länknycklarna anges "
            "(minst 32 tecken; flera kommaseparerade när en nyckel byts)"
        )
    return [generated_key(settings.home / KEY_FILE)]


def generated_key(path: Path) -> str:
    """The embedded default's key, made once and kept (readable by its owner only)."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    # Two processes starting at once: the first one's key wins, both use it.
    write_once_private(path, (secrets.token_urlsafe(48) + "\n").encode())
    return path.read_text(encoding="utf-8").strip()


class LinkSigner:
    """Makes and checks tokens under the organisation's keys."""

    def __init__(self, keys: list[str]):
        if not keys:
            raise LinkConfigError("inga länknycklar")
        # itsdangerous signs with the last key and accepts all of them.
        self._serializer = URLSafeSerializer(
            list(reversed(keys)), salt=SALT, signer_kwargs={"digest_method": hashlib.sha256}
        )
        self._csrf_key = hashlib.sha256(("csrf:" + keys[0]).encode()).digest()
        self._csrf_keys = [hashlib.sha256(("csrf:" + key).encode()).digest() for key in keys]

    @classmethod
    def from_settings(cls, settings: Settings) -> LinkSigner:
        return cls(link_keys(settings))

    def make(
        self,
        *,
        person: str,
        instance_id: int | None,
        actions: frozenset[Action] | set[Action] = frozenset(),
        version: int = 0,
        generation: int = 0,
        expires: dt.datetime,
        token_id: str | None = None,
    ) -> str:
        claims = {
            "t": token_id or secrets.token_hex(8),
            "p": person,
            "s": instance_id,
            "a": "".join(sorted(ACTION_LETTERS[action] for action in actions)),
            "v": version,
            "g": generation,
            "e": int(expires.timestamp()),
        }
        return self._serializer.dumps(claims)

    def check(self, token: str, *, now: dt.datetime) -> LinkClaims:
        """The claims of a token we made that has not expired; raises BadToken."""
        if not token or len(token) > MAX_TOKEN_LENGTH or not set(token) <= _TOKEN_ALPHABET:
            raise BadToken("forged")
        _, _, signature = token.rpartition(".")
        # A base64 text has several spellings of the same bytes (the last character's
        # unused bits): only the one we write is ours, so no changed byte goes unnoticed.
        try:
            if base64_encode(base64_decode(signature)).decode() != signature:
                raise BadToken("forged")
            raw = self._serializer.loads(token)
        except (BadData, ValueError, TypeError) as exc:
            if isinstance(exc, BadToken):
                raise
            raise BadToken("forged") from None
        try:
            claims = LinkClaims(
                token_id=str(raw["t"]),
                person=str(raw["p"]),
                instance_id=None if raw["s"] is None else int(raw["s"]),
                actions=frozenset(LETTER_ACTIONS[letter] for letter in raw["a"]),
                version=int(raw["v"]),
                generation=int(raw["g"]),
                expires=dt.datetime.fromtimestamp(int(raw["e"]), dt.UTC),
            )
        except (KeyError, TypeError, ValueError):
            raise BadToken("forged") from None
        if claims.expires <= now:
            raise BadToken("expired", claims)
        return claims

    def csrf_token(self, claims: LinkClaims) -> str:
        """The form's CSRF token: tied to the link (its id) and the state it was shown in."""
        return self._csrf(self._csrf_key, claims)

    def csrf_valid(self, claims: LinkClaims, value: str) -> bool:
        return any(hmac.compare_digest(self._csrf(key, claims), value or "") for key in self._csrf_keys)

    @staticmethod
    def _csrf(key: bytes, claims: LinkClaims) -> str:
        message = f"{claims.token_id}:{claims.person}:{claims.instance_id}:{claims.version}".encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()


def stable_token_id(*parts: object) -> str:
    """A token id derived from what the link is for (a mail sent again carries the same link)."""
    return hashlib.sha256(":".join(str(part) for part in parts).encode()).hexdigest()[:16]


def redact_tokens(text: str) -> str:
    """A log line without any token in it (the web app's access log)."""
    return re.sub(r"(/(?:steg|mina-steg|ny-lank)/)[A-Za-z0-9_.\-]{20,}", r"\1[token]", text)


class LinkMaker:
    """The links in a mail or on a page: a step's link for one person (with the actions
    they may take now), and their personal "Mina steg" link and calendar feed."""

    def __init__(self, signer: LinkSigner, *, public_url: str, link_days: int = 60, personal_link_days: int = 180):
        self.signer = signer
        self.public_url = public_url.rstrip("/")
        self.link_days = link_days
        self.personal_link_days = personal_link_days

    @classmethod
    def from_settings(cls, settings: Settings) -> LinkMaker:
        return cls(
            LinkSigner.from_settings(settings),
            public_url=settings.resolved_public_url,
            link_days=settings.link_days,
            personal_link_days=settings.personal_link_days,
        )

    def step_token(
        self,
        *,
        person: str,
        step: StepInstance,
        actions: frozenset[Action],
        generation: int,
        issued: dt.datetime,
        token_id: str | None = None,
        days: int | None = None,
    ) -> str:
        return self.signer.make(
            person=person,
            instance_id=stored_id(step),
            actions=actions,
            version=step.state_version,
            generation=generation,
            expires=issued + dt.timedelta(days=days or self.link_days),
            token_id=token_id,
        )

    def step_url(self, **kwargs) -> str:
        return f"{self.public_url}/steg/{self.step_token(**kwargs)}"

    def personal_token(self, *, person: str, generation: int, issued: dt.datetime, token_id: str | None = None) -> str:
        return self.signer.make(
            person=person,
            instance_id=None,
            generation=generation,
            expires=issued + dt.timedelta(days=self.personal_link_days),
            token_id=token_id,
        )

    def personal_url(self, **kwargs) -> str:
        return f"{self.public_url}/mina-steg/{self.personal_token(**kwargs)}"
