"""A sender process for the crash test: sends every due outbox message, then exits 0.

Usage: python -m tests.mail_sender_child DATABASE_URL ORG_FOLDER SMTP_PORT NOW_ISO
"""

import datetime as dt
import sys
from pathlib import Path

from arshjul.database import make_engine
from models.validation import load_definition
from notifications.sender import SmtpConfig, deliver_due


def main() -> None:
    database_url, folder, port, now = sys.argv[1:5]
    engine = make_engine(database_url)
    definition = load_definition(Path(folder), check_cycles=False)
    report = deliver_due(engine, definition, smtp=SmtpConfig(host="127.0.0.1", port=int(port)), now=dt.datetime.fromisoformat(now), ui_url="http://127.0.0.1:4200")
    sys.exit(3 if report.server_unreachable else 0)


if __name__ == "__main__":
    main()
