"""One part of a parallel walk over the audit log (arshjul.core.audit_parallel starts it).

Reads from stdin a pickle of (connection string, snapshot, low, high, plan), walks the
entries in (low, high] on PostgreSQL in the snapshot the parent exported, and writes the
part (models.audit_walk.Part) to stdout as a pickle. Imports only psycopg and the light
walk, so that starting it costs a fraction of a second.
"""

from __future__ import annotations

import pickle
import sys

import psycopg
from psycopg import sql

from models.audit_walk import postgres_part, walk_part


def main() -> None:
    conninfo, snapshot, low, high, plan = pickle.load(sys.stdin.buffer)
    with psycopg.connect(conninfo) as connection:
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        connection.read_only = True
        connection.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
        part = walk_part(postgres_part(connection, low, high), plan)
        connection.rollback()
    sys.stdout.buffer.write(pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
