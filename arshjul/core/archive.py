"""A completed cycle's archive: one bundle (a folder or a zip) the auditors keep for good,
whatever Prefect keeps. It holds the history, the mail log, the follow-up, the whole
audit log export and the signed checkpoints, with `manifest.json` (the SHA-256 of every
file) signed by the checkpoint key (`manifest.sig`).

`verify_bundle` needs neither the app nor its database: the manifest's signature and
hashes, the checkpoints' signatures, and the exported audit log's hash chain recomputed
and walked against every checkpoint (models.audit_integrity)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import zipfile
from pathlib import Path
from types import SimpleNamespace

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from arshjul.core.checkpoints import parse_checkpoints
from models.audit_integrity import verify_entries

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
AUDIT_LOG = "granskningslogg.jsonl"
CHECKPOINTS = "kontrollpunkter.jsonl"
PUBLIC_KEY = "kontrollpunkt-nyckel.pub"


class ArchiveError(Exception):
    """The bundle cannot be written or read (Swedish message)."""


def manifest(files: dict[str, bytes], *, about: dict) -> bytes:
    document = about | {
        "filer": {
            name: {"sha256": hashlib.sha256(data).hexdigest(), "byte": len(data)}
            for name, data in sorted(files.items())
        }
    }
    return (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def write_bundle(files: dict[str, bytes], target: Path, *, key: Ed25519PrivateKey, about: dict) -> Path:
    """Write the files, the manifest and its signature: a zip if `target` ends in .zip,
    else a new folder."""
    if target.exists():
        raise ArchiveError(f"{target} finns redan; ett arkiv skrivs aldrig över")
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    files = files | {PUBLIC_KEY: public}
    listing = manifest(files, about=about)
    signed = files | {MANIFEST: listing, SIGNATURE: base64.b64encode(key.sign(listing)) + b"\n"}
    if target.suffix == ".zip":
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(target, "x", compression=zipfile.ZIP_DEFLATED) as bundle:
            for name, data in signed.items():
                bundle.writestr(name, data)
    else:
        target.mkdir(parents=True)
        for name, data in signed.items():
            (target / name).write_bytes(data)
    return target


def read_bundle(source: Path) -> dict[str, bytes]:
    try:
        if source.is_dir():
            return {path.name: path.read_bytes() for path in sorted(source.iterdir()) if path.is_file()}
        with zipfile.ZipFile(source) as bundle:
            return {name: bundle.read(name) for name in bundle.namelist()}
    except FileNotFoundError:
        raise ArchiveError(f"arkivet {source} finns inte") from None
    except (OSError, zipfile.BadZipFile) as exc:
        raise ArchiveError(f"arkivet {source} kan inte läsas: {exc}") from None


def _entry(line: str) -> SimpleNamespace:
    row = json.loads(line)
    row["at"] = dt.datetime.fromisoformat(row["at"])
    return SimpleNamespace(**row)


def verify_bundle(files: dict[str, bytes], key: Ed25519PublicKey) -> tuple[list[str], dict]:
    """Problems found (none: the bundle is what was archived, and its log agrees with
    every checkpoint), and the manifest."""
    problems: list[str] = []
    if MANIFEST not in files or SIGNATURE not in files:
        return [f"{MANIFEST} eller {SIGNATURE} saknas"], {}
    try:
        key.verify(base64.b64decode(files[SIGNATURE].strip(), validate=True), files[MANIFEST])
    except (InvalidSignature, ValueError):
        problems.append("manifestets signatur stämmer inte (manifestet är ändrat, eller fel publik nyckel)")
    listing = json.loads(files[MANIFEST])
    listed = listing.get("filer", {})
    for name, facts in sorted(listed.items()):
        if name not in files:
            problems.append(f"{name} saknas")
        elif hashlib.sha256(files[name]).hexdigest() != facts["sha256"]:
            problems.append(f"{name} är ändrad (SHA-256 stämmer inte med manifestet)")
    for name in sorted(set(files) - set(listed) - {MANIFEST, SIGNATURE}):
        problems.append(f"{name} finns inte i manifestet (tillagd efteråt)")
    if CHECKPOINTS in files and AUDIT_LOG in files:
        checkpoints, checkpoint_problems = parse_checkpoints(files[CHECKPOINTS].decode("utf-8"), key)
        problems += [f"{CHECKPOINTS}: {message}" for message in checkpoint_problems]
        lines = [line for line in files[AUDIT_LOG].decode("utf-8").splitlines() if line.strip()]
        result = verify_entries((_entry(line) for line in lines), checkpoints)
        problems += [
            f"{AUDIT_LOG}: post {p.entry_id}: {p.message}" if p.entry_id is not None else f"{AUDIT_LOG}: {p.message}"
            for p in result.problems
        ]
        if not checkpoints:
            problems.append(f"{CHECKPOINTS}: inga giltiga kontrollpunkter")
    return problems, listing
