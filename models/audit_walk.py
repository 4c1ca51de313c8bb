"""The walk over the audit log, in parts: each part of the id range checks its own
entries, and the parts are joined.

One part recomputes every entry's hash from its stored fields, checks each link to the
entry before it inside the part, compares every entry with the short hash the
checkpoints listed for it (a merge of two id-ordered sequences), checks the heads the
checkpoints signed, and counts its entries up to each checkpoint's head. `join` then
checks the link between parts (the first entry of a part against the last entry of the
part before it, or the genesis hash), adds up the counts and orders the problems: the
same verdict, entry for entry, as one walk over the whole log. A single-process walk
is one part over everything (SQLite, an archive's export, a small log).

Pure and light (no SQLAlchemy): a worker process (arshjul.core.audit_worker) imports it.
"""

from __future__ import annotations

import datetime as dt
import json
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import orjson

from models.audit_hash import GENESIS_HASH, fields_hash, quick_fields_hash

SHORT = 16  # hex digits of an entry's hash kept per entry in a checkpoint (64 bits)

# One entry as a part walks it: (id, prev_hash, hash, the hashed fields, the stored JSON
# texts of before/after/origin or None). With the texts, the reference hash parses them
# with the standard library: orjson reads a few numbers (beyond 64 bits) differently.
Row = tuple[int, str, str, dict, tuple | None]


@dataclass(frozen=True)
class Problem:
    entry_id: int | None  # None: about the log as a whole (a trigger, a checkpoint)
    message: str


@dataclass(frozen=True)
class Plan:
    """What the checkpoints say, in the form a part walks against (picklable, compact)."""

    ids: array  # every entry a checkpoint listed, ascending
    shorts: str  # their short hashes, SHORT characters each, in the same order
    numbers: array  # the checkpoint that listed each
    heads: dict[int, tuple[str, int]]  # a checkpoint's last entry -> (its hash, the checkpoint)
    bounds: tuple[int, ...]  # each checkpoint's last entry (0: an empty log), in `counted` order
    counted: tuple[tuple[int, int], ...]  # per bound: (the count it signed, the checkpoint)
    vouched: int | None  # the last entry any checkpoint vouches for
    when: dict[int, str]  # checkpoint number -> when it was taken, for the messages

    def part(self, low: int | None, high: int | None) -> Plan:
        """The listed entries in (low, high] only: what a worker of that range needs."""
        start = bisect_right(self.ids, low) if low is not None else 0
        stop = bisect_right(self.ids, high) if high is not None else len(self.ids)
        return Plan(
            self.ids[start:stop], self.shorts[start * SHORT : stop * SHORT], self.numbers[start:stop],
            {i: h for i, h in self.heads.items() if (low is None or i > low) and (high is None or i <= high)},
            self.bounds, self.counted, self.vouched, self.when,
        )  # fmt: skip


def when(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def make_plan(checkpoints: Sequence) -> Plan:
    """From checkpoints (models.audit_integrity.Checkpoint) whose signatures hold. An entry
    listed by two checkpoints is compared with the later one's listing."""
    ids, shorts, numbers = array("q"), [], array("q")
    ascending = True
    for checkpoint in checkpoints:
        listed, listed_shorts = checkpoint.listed
        if listed and ((ids and listed[0] <= ids[-1]) or list(listed) != sorted(set(listed))):
            ascending = False  # not as the app writes them (each lists the entries after the one before)
            break
        ids.extend(listed)
        shorts.append(listed_shorts)
        numbers.extend([checkpoint.number] * len(listed))
    if not ascending:  # any other order: the later listing of an entry counts
        merged: dict[int, tuple[str, int]] = {}
        for checkpoint in checkpoints:
            listed, listed_shorts = checkpoint.listed
            for index, entry_id in enumerate(listed):
                merged[entry_id] = (listed_shorts[index * SHORT : (index + 1) * SHORT], checkpoint.number)
        ordered = sorted(merged.items())
        ids = array("q", (entry_id for entry_id, _ in ordered))
        shorts = [short for _, (short, _n) in ordered]
        numbers = array("q", (number for _, (_s, number) in ordered))
    counts = sorted(((c.head.last_id or 0, c.head.count, c.number) for c in checkpoints), key=lambda item: item[:2])
    return Plan(
        ids=ids,
        shorts="".join(shorts),
        numbers=numbers,
        heads={c.head.last_id: (c.head.last_hash, c.number) for c in checkpoints if c.head.last_id is not None},
        bounds=tuple(bound for bound, _count, _n in counts),
        counted=tuple((count, number) for _b, count, number in counts),
        vouched=max((c.head.last_id for c in checkpoints if c.head.last_id is not None), default=None),
        when={c.number: when(c.at) for c in checkpoints},
    )


@dataclass
class Part:
    """What one part of the walk found."""

    checked: int = 0
    first: tuple[int, str] | None = None  # (id, prev_hash) of its first entry
    last: tuple[int, str] | None = None  # (id, hash) of its last entry
    problems: list[Problem] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)  # per plan bound: its entries up to that id


def _parsed(fields: dict, texts: tuple, loads) -> dict:
    """The hashed fields with the stored payloads parsed by `loads`."""
    fields = dict(fields)
    for name, raw in zip(("before", "after", "origin"), texts, strict=True):
        value = loads(raw) if raw is not None else None
        if name != "origin":
            fields[name] = value
        elif value is not None:
            fields["origin"] = value
        else:
            fields.pop("origin", None)
    return fields


def reference_hash(fields: dict, texts: tuple | None, prev_hash: str) -> str:
    """The hash by the app's own code, the stored payloads parsed by the standard library."""
    return fields_hash(_parsed(fields, texts, json.loads) if texts is not None else fields, prev_hash)


def hash_holds(fields: dict, texts: tuple | None, prev_hash: str, entry_hash: str) -> bool:
    """Whether the entry is what was hashed. First the stored payloads as they are (the
    app stores them in canonical form); then parsed by orjson (payloads stored in another
    form, before the app stored them canonically); at last by the app's own code. Each is
    an exact encoding of the entry, so any match proves it; only when all differ is the
    entry changed."""
    if quick_fields_hash(fields, prev_hash) == entry_hash:
        return True
    if texts is None:
        return fields_hash(fields, prev_hash) == entry_hash
    return (
        quick_fields_hash(_parsed(fields, texts, orjson.loads), prev_hash) == entry_hash
        or reference_hash(fields, texts, prev_hash) == entry_hash
    )


def walk_part(rows: Iterable[Row], plan: Plan) -> Part:
    """Walk one part's entries in id order against the plan (made with `Plan.part` for
    the part's range, or the whole plan for a walk over everything)."""
    part = Part(counts=[0] * len(plan.bounds))
    problems = part.problems
    ids, shorts, numbers, heads, bounds, counts = (
        plan.ids,
        plan.shorts,
        plan.numbers,
        plan.heads,
        plan.bounds,
        part.counts,
    )
    listed, next_listed = len(ids), 0
    next_bound, all_bounds = 0, len(bounds)
    vouched = plan.vouched if plan.vouched is not None else -1
    checked, previous = 0, None
    for entry_id, prev_hash, entry_hash, fields, texts in rows:
        while next_bound < all_bounds and entry_id > bounds[next_bound]:
            counts[next_bound] = checked
            next_bound += 1
        checked += 1
        if previous is None:
            part.first = (entry_id, prev_hash)  # its link is checked by `join`
        elif prev_hash != previous:
            problems.append(
                Problem(entry_id, "länken till föregående post är bruten (en post har ändrats eller tagits bort)")
            )
        if not hash_holds(fields, texts, prev_hash, entry_hash):
            problems.append(Problem(entry_id, "postens innehåll stämmer inte med dess hash (posten har ändrats)"))
        while next_listed < listed and ids[next_listed] < entry_id:
            _missing(plan, next_listed, problems)
            next_listed += 1
        if next_listed < listed and ids[next_listed] == entry_id:
            start = next_listed * SHORT
            if entry_hash[:SHORT] != shorts[start : start + SHORT]:
                number = numbers[next_listed]
                problems.append(
                    Problem(entry_id, f"posten skiljer sig från kontrollpunkt {number} ({plan.when[number]})")
                )
            next_listed += 1
        elif entry_id <= vouched:
            problems.append(
                Problem(entry_id, "posten fanns inte när kontrollpunkterna togs (den har lagts in i efterhand)")
            )
        head = heads.get(entry_id)
        if head is not None and entry_hash != head[0]:
            problems.append(
                Problem(
                    entry_id, f"hashen skiljer sig från loggens topp i kontrollpunkt {head[1]} ({plan.when[head[1]]})"
                )
            )
        previous = entry_hash
        part.last = (entry_id, entry_hash)
    while next_listed < listed:
        _missing(plan, next_listed, problems)
        next_listed += 1
    for rest in range(next_bound, all_bounds):
        counts[rest] = checked
    part.checked = checked
    return part


def _missing(plan: Plan, index: int, problems: list[Problem]) -> None:
    number = plan.numbers[index]
    problems.append(
        Problem(plan.ids[index], f"posten saknas; den fanns vid kontrollpunkt {number} ({plan.when[number]})")
    )


@dataclass(frozen=True)
class Joined:
    checked: int
    last: tuple[int, str] | None
    problems: list[Problem]


def join(parts: Sequence[Part], plan: Plan) -> Joined:
    """The parts of one walk, in id order, as one walk: the links between them, the counts."""
    problems: list[Problem] = []
    previous_hash, last = GENESIS_HASH, None
    for part in parts:
        if part.first is not None and part.first[1] != previous_hash:
            problems.append(
                Problem(part.first[0], "länken till föregående post är bruten (en post har ändrats eller tagits bort)")
            )
        problems.extend(part.problems)
        if part.last is not None:
            previous_hash, last = part.last[1], part.last
    for index, bound in enumerate(plan.bounds):
        counted = sum(part.counts[index] for part in parts)
        count, number = plan.counted[index]
        if counted != count:
            problems.append(
                Problem(
                    None,
                    f"kontrollpunkt {number} ({plan.when[number]}) räknade {count} poster "
                    f"till och med post {bound}; nu finns {counted}",
                )
            )
    problems.sort(key=lambda p: (p.entry_id is None, p.entry_id or 0))
    return Joined(sum(part.checked for part in parts), last, problems)


# The walk's query on PostgreSQL, a batch at a time in id order (keyset: the primary key
# index, whatever gaps the ids have): the time as `hashed_fields` writes it (UTC,
# microseconds, "+00:00"), made by the server; the JSON columns as their stored text.
# Batches fetched whole are parsed by psycopg's C code: a third of the client's CPU per
# entry that COPY's rows cost, one Python call per row.
POSTGRES_BATCH = """
SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'), actor, actor_role, source,
       action, cycle_id, instance_id, before::text, after::text, comment, flow_run_id, origin::text,
       prev_hash, hash
FROM audit_entry WHERE {where} ORDER BY id LIMIT {batch}
"""
BATCH = 20_000


def fetched_rows(rows: Iterable[Sequence]) -> Iterator[Row]:
    """The rows of POSTGRES_BATCH as the walk reads them: the stored payloads as JSON
    fragments (hashed as stored; `hash_holds` parses them if that does not match)."""
    fragment = orjson.Fragment
    for row in rows:
        fields = {
            "at": row[1],
            "actor": row[2],
            "actor_role": row[3],
            "source": row[4],
            "action": row[5],
            "cycle_id": row[6],
            "instance_id": row[7],
            "before": fragment(row[8]) if row[8] is not None else None,
            "after": fragment(row[9]) if row[9] is not None else None,
            "comment": row[10],
            "flow_run_id": row[11],
        }
        if row[12] is not None and row[12] != "null":  # JSON null or SQL NULL: no origin
            fields["origin"] = fragment(row[12])
        yield (row[0], row[13], row[14], fields, (row[8], row[9], row[12]))


def postgres_part(connection, low: int | None, high: int | None, batch: int = BATCH) -> Iterator[Row]:
    """The entries in (low, high] on PostgreSQL, in batches on the psycopg connection
    handed in (a session's own, or a worker's), all in its transaction's snapshot."""
    after = low
    with connection.cursor() as cursor:
        while True:
            bounds = []
            if after is not None:
                bounds.append(f"id > {int(after)}")
            if high is not None:
                bounds.append(f"id <= {int(high)}")
            cursor.execute(POSTGRES_BATCH.format(where=" AND ".join(bounds) or "TRUE", batch=int(batch)))
            rows = cursor.fetchall()
            yield from fetched_rows(rows)
            if len(rows) < batch:
                return
            after = rows[-1][0]
