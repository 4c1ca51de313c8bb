"""The audit log's hash: what an entry's SHA-256 covers and how it is written.

Kept apart from the table and the session (models.audit) so that a process that only
walks the log (arshjul.core.audit_worker) imports nothing but the standard library and
orjson.
"""

from __future__ import annotations

import hashlib
import json

import orjson

GENESIS_HASH = "0" * 64


def canonical_json(value: object) -> str:
    """The canonical JSON text: sorted keys, no spaces, UTF-8 as is. The app's database
    stores its JSON columns in this form too (arshjul.core.database), so an entry's
    stored payload is the very text its hash covers and the walk need not parse it."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def fields_hash(fields: dict, prev_hash: str) -> str:
    """The hash as the app writes it (the reference: the standard library's canonical JSON)."""
    return hashlib.sha256((prev_hash + "\n" + canonical_json(fields)).encode("utf-8")).hexdigest()


def quick_fields_hash(fields: dict, prev_hash: str) -> str:
    """`fields_hash` with orjson's canonical form, which is the same text for the payloads
    the app writes, several times faster. Sound as a first check: a match proves the
    entry is what was hashed (the text must then be the same); on a mismatch, ask
    `fields_hash` before calling the entry changed."""
    canonical = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical).hexdigest()
