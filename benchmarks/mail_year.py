"""The mail of a simulated year, as the issue's acceptance asks about it (issue 16).

Reads a finished simulation's app database and the mails its SMTP sink stored (an
`arshjul simulate 2027 --seed 7` run under ARSHJUL_HOME=HOME), and prints: the figures
of `arshjul mail stats --simulation`; the digests that had nothing to act on and nothing
new (read from the mails themselves: "Du har inga öppna steg och inget att besluta" and
no "Nytt sedan förra sammanfattningen"); the most scheduled mails one person got on one
day; and every reminder, deadline-today and overdue notice not sent on its day.

Run: .venv/bin/python benchmarks/mail_year.py HOME
"""

from __future__ import annotations

import argparse
import email
import json
import sys
from email import policy
from pathlib import Path

from sqlalchemy import create_engine
from sqlmodel import Session, col, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.mail_stats import mail_stats, sent_rows  # noqa: E402
from models.tables import Mode, OutboxMessage  # noqa: E402
from models.validation import load_definition  # noqa: E402

NOTHING_OPEN = "Du har inga öppna steg och inget att besluta just nu."
NEWS = "Nytt sedan förra sammanfattningen"


def digest_texts(folder: Path) -> list[str]:
    texts = []
    for path in sorted(folder.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        subject = str(message["Subject"])
        if "sammanfattning" in subject.lower():
            texts.append(message.get_body(("plain",)).get_content())
    return texts


def main(home: Path) -> None:
    definition = load_definition(ROOT / "calendar" / "region-jamtland-harjedalen")
    calendar = definition.organisation.calendar
    engine = create_engine(f"sqlite:///{home / 'arshjul.db'}")
    with Session(engine) as session:
        stats = mail_stats(sent_rows(session=session, mode=Mode.simulation), calendar)
        due = session.exec(
            select(OutboxMessage).where(
                OutboxMessage.mode == Mode.simulation,
                col(OutboxMessage.kind).in_(["reminder", "due_today", "overdue"]),
            )
        ).all()
    late = [
        row.key
        for row in due
        if row.sent_at is None or calendar.local_date(row.sent_at) != calendar.local_date(row.next_attempt_at)
    ]
    texts = digest_texts(home / "mail")
    empty = sum(1 for text in texts if NOTHING_OPEN in text and NEWS not in text)
    figures = stats.as_dict() | {
        "digest_mails_read": len(texts),
        "digests_with_nothing_to_act_on_and_nothing_new": empty,
        "reminders_due": len(due),
        "reminders_not_sent_on_their_day": len(late),
    }
    print(json.dumps(figures, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path, help="ARSHJUL_HOME of a finished `arshjul simulate 2027 --seed 7`")
    main(parser.parse_args().home)
