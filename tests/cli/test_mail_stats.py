"""`arshjul mail stats`: mails per person and month, per kind, the share of digests; a
combined mail counts once."""

from __future__ import annotations

import datetime as dt
import json

from typer.testing import CliRunner

from arshjul.cli import app
from arshjul.core.database import get_engine, session_scope
from models import notices as n
from models.mail_stats import SentRow, mail_stats
from models.tables import OutboxMessage, OutboxState
from tests.conftest import SMALL_ORG
from tests.prefect_support import app_environment

UTC = dt.UTC


def sent(message_id: str, person: str, kind: str, day: int, month: int = 3) -> SentRow:
    return SentRow(message_id, person, kind, dt.datetime(2027, month, day, 7, tzinfo=UTC))


def test_figures_count_mails_not_rows(small_definition):
    rows = [
        # Eva: one combined 08:00 mail of three rows, an opened notice, a digest in April.
        sent("<a>", "eva", n.REMINDER, 1),
        sent("<a>", "eva", n.OVERDUE, 1),
        sent("<a>", "eva", n.DIGEST, 1),
        sent("<b>", "eva", n.OPENED, 1),
        sent("<c>", "eva", n.DIGEST, 5, month=4),
        # Olle: three mails in March.
        *(sent(f"<o{i}>", "olle", n.OPENED, i) for i in range(1, 4)),
    ]
    stats = mail_stats(rows, small_definition.organisation.calendar)
    assert stats.mails == 6 and stats.digests == 2 and stats.digest_share == round(2 / 6, 3)
    # Person-months: eva March 2, eva April 1, olle March 3.
    assert (stats.per_person_month_median, stats.per_person_month_max) == (2.0, 3)
    assert stats.most_mailed == 3 and stats.most_digests == 2
    assert stats.most_scheduled_in_a_day == 1
    assert stats.per_kind == {n.REMINDER: 1, n.OVERDUE: 1, n.DIGEST: 2, n.OPENED: 4}


def test_the_cli_prints_the_figures_in_swedish(tmp_path):
    with app_environment(tmp_path, SMALL_ORG):
        now = dt.datetime(2027, 3, 1, 7, tzinfo=UTC)
        with session_scope(get_engine()) as session:
            for i in range(3):
                key = n.message_key(None, n.DIGEST, f"weekly-{i}", "eva.a1")
                session.add(
                    OutboxMessage(
                        key=key,
                        kind=n.DIGEST,
                        stage=f"weekly-{i}",
                        recipient_key="eva.a1",
                        recipient="eva.a1@example.se",
                        created_at=now,
                        next_attempt_at=now,
                        message_id=n.message_id_for(key, "test"),
                        state=OutboxState.sent,
                        sent_at=now,
                    )
                )
        result = CliRunner().invoke(app, ["mail", "stats", "--json"])
        assert result.exit_code == 0, result.output
        figures = json.loads(result.stdout)
        assert figures["mails"] == 3 and figures["digest_share"] == 1.0
        text = CliRunner().invoke(app, ["mail", "stats", "--year", "2027"])
        assert text.exit_code == 0 and "3 mejl, varav 3 sammanfattningar (100%)" in text.stdout
        assert CliRunner().invoke(app, ["mail", "stats", "--year", "2026"]).stdout.startswith("0 mejl")
