"""Signed checkpoints of the audit log, kept outside the app database.

A checkpoint is one JSON line: the log's head (last entry, its hash, the count), the
short hash of every entry since the previous checkpoint (version 2: the ids as runs of
consecutive ids, the short hashes as one string in id order; version 1, still read: a
pair per entry, which cost a second per 300,000 entries to read), the time, the reason, the hash
of the previous checkpoint's signature (so a line taken out of the file is noticed) and
an Ed25519 signature over all of it. The private key is a file (never in the app
database); `arshjul audit verify` needs only the public key beside it. The model is
AWS CloudTrail's log-file integrity validation (signed, chained digest files).
"""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import hashlib
import json
import os
from array import array
from dataclasses import dataclass
from pathlib import Path

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlmodel import Session

from arshjul.core.audit_parallel import verify_database
from arshjul.core.private_files import write_once_private
from arshjul.core.settings import Settings
from models.audit_integrity import (
    Attestation,
    Checkpoint,
    Head,
    log_head,
    short_hashes_after,
    trigger_problems,
)
from models.audit_walk import SHORT

CHECKPOINT_FILE = "granskningslogg-kontrollpunkter.jsonl"
VERSION = 2


class CheckpointError(Exception):
    """A checkpoint cannot be made or read (Swedish message)."""


def checkpoint_path(settings: Settings) -> Path:
    return settings.resolved_checkpoint_dir / CHECKPOINT_FILE


def public_key_path(settings: Settings) -> Path:
    key = settings.resolved_checkpoint_key
    return key.with_name(key.name.removesuffix(".pem") + ".pub")


def create_key(settings: Settings) -> Path:
    """Write a new key pair (private key readable by its owner only); refuse to replace one."""
    path = settings.resolved_checkpoint_key
    if path.exists():
        raise CheckpointError(f"nyckelfilen {path} finns redan; den ersätts inte")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    write_once_private(path, pem)  # two processes at once: the first one's key wins
    public_key_path(settings).write_bytes(
        load_private_key(path)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return path


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"nyckelfilen {path} kan inte läsas: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"nyckelfilen {path} är ingen Ed25519-nyckel")
    return key


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The key that signs checkpoints; generated on the embedded default, required in production."""
    path = settings.resolved_checkpoint_key
    if not path.exists():
        if not settings.uses_embedded_database:
            raise CheckpointError(
                f"nyckeln som signerar granskningsloggens kontrollpunkter saknas ({path}): skapa den med "
                "`arshjul audit keygen` (ARSHJUL_CHECKPOINT_KEY anger var den ligger)"
            )
        create_key(settings)
    return load_private_key(path)


def verifying_key(settings: Settings, public_key_file: Path | None = None) -> Ed25519PublicKey:
    """The public key: the given file, else the one beside the signing key."""
    path = public_key_file or public_key_path(settings)
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except FileNotFoundError:
        if public_key_file is None and settings.resolved_checkpoint_key.exists():
            return load_private_key(settings.resolved_checkpoint_key).public_key()
        raise CheckpointError(f"den publika nyckeln {path} saknas") from None
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"den publika nyckeln {path} kan inte läsas: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError(f"{path} är ingen publik Ed25519-nyckel")
    return key


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _canonical(record: dict) -> bytes:
    unsigned = {name: value for name, value in record.items() if name != "signature"}
    return json.dumps(unsigned, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _quick_canonical(record: dict) -> bytes:
    """`_canonical` by orjson: the same bytes for the records the app writes (integers,
    strings, null), several times faster for a checkpoint listing 100,000 entries. Sound
    as a first try: both forms are exact JSON encodings, so a signature that verifies
    over either is a signature over this very record; on a mismatch `_canonical` decides."""
    unsigned = {name: value for name, value in record.items() if name != "signature"}
    return orjson.dumps(unsigned, option=orjson.OPT_SORT_KEYS)


def _listed(record: dict) -> tuple[array, str]:
    """A checkpoint's entries as (their ids, their short hashes as one string, SHORT
    characters each), checked for their form in bulk."""
    if record.get("version") == 1:
        pairs = record["entries"]
        if not pairs:
            return array("q"), ""
        if set(map(len, pairs)) != {2}:
            raise TypeError("entries")
        ids, shorts = zip(*pairs, strict=True)
        if not set(map(type, ids)) <= {int} or not set(map(type, shorts)) <= {str}:
            raise TypeError("entries")
        if set(map(len, shorts)) != {SHORT}:  # not as the app writes them: compared as padded
            shorts = tuple(short[:SHORT].ljust(SHORT) for short in shorts)
        return array("q", ids), "".join(shorts)
    if record.get("version") != VERSION:
        raise ValueError("version")
    runs, hashes = record["ids"], record["hashes"]
    if not isinstance(hashes, str) or not all(
        type(first) is int and type(last) is int and first <= last for first, last in runs
    ):
        raise TypeError("ids")
    if sum(last - first + 1 for first, last in runs) * SHORT != len(hashes):  # before the runs are expanded
        raise TypeError("hashes")
    expanded = array("q")
    for first, last in runs:
        expanded.extend(range(first, last + 1))
    return expanded, hashes


def _runs(ids: list[int]) -> list[list[int]]:
    """Ids in ascending order as runs of consecutive ids: [[first, last], …]."""
    runs: list[list[int]] = []
    for entry_id in ids:
        if runs and entry_id == runs[-1][1] + 1:
            runs[-1][1] = entry_id
        else:
            runs.append([entry_id, entry_id])
    return runs


def _loads(line: str) -> dict:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return json.loads(line)  # what orjson does not read (an integer beyond 64 bits)


def _verify_signature(key: Ed25519PublicKey, record: dict) -> None:
    signature = base64.b64decode(record["signature"], validate=True)
    try:
        key.verify(signature, _quick_canonical(record))
    except (InvalidSignature, orjson.JSONEncodeError):
        key.verify(signature, _canonical(record))


def _signature_digest(record: dict) -> str:
    return hashlib.sha256(record["signature"].encode("ascii")).hexdigest()


@dataclass(frozen=True)
class Written:
    record: dict
    line: str
    path: Path
    new: bool = True  # False: the same head was checkpointed for the same reason already


def write_checkpoint(
    *, session: Session, settings: Settings, now: dt.datetime, reason: str, organisation: str, once: bool = False
) -> Written:
    """Sign the log's head as it is now and append it to the checkpoint file.

    The file is locked while the previous checkpoint is read and the new one appended,
    so two writers (the sweep, a cycle closing) never chain to the same predecessor.
    With `once`, a head already checkpointed last for the same reason (the sweep run
    twice in a day) is not checkpointed again."""
    key = signing_key(settings)
    path = checkpoint_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        previous, previous_line = None, ""
        for line in handle:
            if line.strip():
                previous, previous_line = json.loads(line), line.strip()
        head = log_head(session=session)
        if (
            once
            and previous
            and (previous["last_id"], previous["last_hash"], previous["reason"])
            == (
                head.last_id,
                head.last_hash,
                reason,
            )
        ):
            return Written(record=previous, line=previous_line, path=path, new=False)
        after = previous["last_id"] if previous else None
        listed = short_hashes_after(after, session=session)
        record = {
            "version": VERSION,
            "organisation": organisation,
            "at": now.astimezone(dt.UTC).isoformat(timespec="seconds"),
            "reason": reason,
            "last_id": head.last_id,
            "last_hash": head.last_hash,
            "count": head.count,
            "since": after,
            "ids": _runs([entry_id for entry_id, _ in listed]),
            "hashes": "".join(short for _, short in listed),
            "previous": _signature_digest(previous) if previous else None,
            "key_id": key_id(key.public_key()),
        }
        record["signature"] = base64.b64encode(key.sign(_canonical(record))).decode("ascii")
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        handle.seek(0, os.SEEK_END)
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return Written(record=record, line=line, path=path)


def read_checkpoints(path: Path, key: Ed25519PublicKey) -> tuple[list[Checkpoint], list[str]]:
    """Every checkpoint of the file whose signature holds, and the problems with the others
    (a bad signature, a broken link to the previous checkpoint, an unreadable line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CheckpointError(f"kontrollpunktsfilen {path} finns inte") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"kontrollpunktsfilen {path} kan inte läsas: {exc}") from None
    return parse_checkpoints(text, key)


def parse_checkpoints(text: str, key: Ed25519PublicKey) -> tuple[list[Checkpoint], list[str]]:
    """`read_checkpoints` of a file's text (an archive's copy, a mail's attachments)."""
    checkpoints: list[Checkpoint] = []
    problems: list[str] = []
    previous: dict | None = None
    lines = text.splitlines()
    number = 0
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        number += 1
        try:
            record = _loads(line)
            _verify_signature(key, record)
            checkpoint = Checkpoint(
                number=number,
                at=dt.datetime.fromisoformat(record["at"]),
                reason=str(record["reason"]),
                head=Head(record["last_id"], record["last_hash"], int(record["count"])),
                listed=_listed(record),
            )
        except InvalidSignature:
            problems.append(
                f"rad {line_number}: kontrollpunktens signatur stämmer inte (den är ändrad eller förfalskad)"
            )
            continue
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            problems.append(f"rad {line_number}: kontrollpunkten kan inte läsas ({exc.__class__.__name__})")
            continue
        expected_previous = _signature_digest(previous) if previous else None
        if record.get("previous") != expected_previous:
            problems.append(
                f"rad {line_number}: kontrollpunkten hänger inte ihop med den före (en kontrollpunkt har tagits bort)"
            )
        previous = record
        checkpoints.append(checkpoint)
    return checkpoints, problems


def attest(*, session: Session, settings: Settings, now: dt.datetime, path: Path | None = None) -> Attestation:
    """Verify the whole log against the checkpoint file (and the triggers), for a report
    that says what it was verified against. A missing file is said, not an error."""
    path = path or checkpoint_path(settings)
    checkpoints: list[Checkpoint] = []
    problems: list[str] = []
    latest: dict | None = None
    if path.exists():
        checkpoints, problems = read_checkpoints(path, verifying_key(settings))
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if checkpoints:
            record = json.loads(lines[checkpoints[-1].number - 1])
            latest = {
                "number": checkpoints[-1].number,
                "at": record["at"],
                "last_id": record["last_id"],
                "count": record["count"],
                "key_id": record["key_id"],
                "signature": record["signature"],
            }
    result = verify_database(session=session, checkpoints=checkpoints)
    found = trigger_problems(session=session) + result.problems
    problems += [f"post {p.entry_id}: {p.message}" if p.entry_id is not None else p.message for p in found]
    return Attestation(
        verified_at=now,
        entries=result.checked,
        intact=not problems,
        checkpoint=latest,
        unproven_after=result.checked - (latest["count"] if latest else 0),
        problems=problems,
    )
