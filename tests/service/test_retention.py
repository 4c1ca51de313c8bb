"""What the embedded Prefect server keeps: the values `arshjul serve` gives it parse as
Prefect 3.8.8 reads them (a value it cannot parse would stop the server)."""

import datetime as dt

from arshjul.service import PREFECT_RETENTION


def test_the_server_keeps_a_week_of_events_and_never_vacuums_flow_runs(monkeypatch):
    from prefect.settings.models.root import Settings as PrefectSettings

    for name, value in PREFECT_RETENTION.items():
        monkeypatch.setenv(name, value)
    server = PrefectSettings().server
    assert server.events.retention_period == dt.timedelta(days=7)
    assert server.services.db_vacuum.enabled_vacuum_types == {"events"}
