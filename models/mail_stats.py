"""The figures a regionstab asks about its mail: how many mails each person gets a month
(median, 90th percentile, maximum), per kind, the share that were digests, and how many
scheduled mails anyone got on one day. A mail is what reached an inbox: the outbox rows
marked sent together under one Message-ID (a combined 08:00 mail is one mail)."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from models.notices import COMBINED_KINDS, DIGEST
from models.tables import Mode, OutboxMessage, OutboxState
from models.workdays import WorkingCalendar


@dataclass(frozen=True)
class SentRow:
    message_id: str
    recipient_key: str
    kind: str
    sent_at: dt.datetime


@dataclass
class MailStats:
    mails: int = 0
    digests: int = 0  # mails carrying a digest
    per_person_month_median: float = 0.0
    per_person_month_p90: float = 0.0
    per_person_month_max: int = 0
    most_mailed: int = 0  # the most mails one person got in the period
    most_digests: int = 0  # the most digests one person got
    most_scheduled_in_a_day: int = 0  # scheduled (08:00) mails to one person on one day
    per_kind: dict[str, int] = field(default_factory=dict)  # notices (rows) sent, per kind

    @property
    def digest_share(self) -> float:
        return round(self.digests / self.mails, 3) if self.mails else 0.0

    def as_dict(self) -> dict:
        return {
            "mails": self.mails,
            "digests": self.digests,
            "digest_share": self.digest_share,
            "per_person_month": {
                "median": self.per_person_month_median,
                "p90": self.per_person_month_p90,
                "max": self.per_person_month_max,
            },
            "most_mailed_person": self.most_mailed,
            "most_digests_to_one_person": self.most_digests,
            "most_scheduled_mails_in_a_day": self.most_scheduled_in_a_day,
            "per_kind": dict(sorted(self.per_kind.items())),
        }


def sent_rows(*, session: Session, mode: Mode, year: int | None = None) -> list[SentRow]:
    """Every sent row of `mode` (sent in `year`, if given)."""
    query = select(
        OutboxMessage.message_id, OutboxMessage.recipient_key, OutboxMessage.kind, OutboxMessage.sent_at
    ).where(OutboxMessage.mode == mode, OutboxMessage.state == OutboxState.sent.value)
    if year is not None:
        start = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
        query = query.where(
            col(OutboxMessage.sent_at) >= start, col(OutboxMessage.sent_at) < start.replace(year=year + 1)
        )
    return [SentRow(*row) for row in session.exec(query) if row[3] is not None]


def _p90(values: list[int]) -> float:
    if len(values) < 2:
        return float(values[0]) if values else 0.0
    return round(statistics.quantiles(values, n=10, method="inclusive")[-1], 1)


def mail_stats(rows: list[SentRow], calendar: WorkingCalendar) -> MailStats:
    """Pure: the figures of these sent rows."""
    mails: dict[str, list[SentRow]] = defaultdict(list)
    for row in rows:
        mails[row.message_id].append(row)
    stats = MailStats(mails=len(mails), per_kind=dict(Counter(row.kind for row in rows)))
    per_month: Counter = Counter()
    per_person: Counter = Counter()
    digests: Counter = Counter()
    scheduled: Counter = Counter()
    for parts in mails.values():
        first = parts[0]
        moment = first.sent_at if first.sent_at.tzinfo else first.sent_at.replace(tzinfo=dt.UTC)
        day = calendar.local_date(moment)
        per_month[(first.recipient_key, day.strftime("%Y-%m"))] += 1
        per_person[first.recipient_key] += 1
        if any(part.kind == DIGEST for part in parts):
            stats.digests += 1
            digests[first.recipient_key] += 1
        if any(part.kind in COMBINED_KINDS for part in parts):
            scheduled[(first.recipient_key, day)] += 1
    counts = sorted(per_month.values())
    if counts:
        stats.per_person_month_median = float(statistics.median(counts))
        stats.per_person_month_p90 = _p90(counts)
        stats.per_person_month_max = counts[-1]
    stats.most_mailed = max(per_person.values(), default=0)
    stats.most_digests = max(digests.values(), default=0)
    stats.most_scheduled_in_a_day = max(scheduled.values(), default=0)
    return stats
