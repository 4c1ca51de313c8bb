"""`arshjul plan`: the formats, the filters and the calendar export."""

import csv
import datetime as dt
import io
import json

import icalendar
import pytest
from typer.testing import CliRunner

from arshjul.cli import app
from tests.conftest import SMALL_ORG

runner = CliRunner()
REQUIRED = {
    "step",
    "name",
    "process",
    "level",
    "unit",
    "owner_role",
    "owner",
    "decided_by",
    "opens",
    "due",
    "depends_on",
    "nominal_due",
}


def plan(*args: str) -> CliRunner:
    return runner.invoke(app, ["plan", "2027", "--org", str(SMALL_ORG), *args])


def test_json_has_every_field_and_is_sorted_by_due():
    result = plan("--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 15
    assert REQUIRED <= set(rows[0])
    assert [r["due"] for r in rows] == sorted(r["due"] for r in rows)
    unit_plan = next(r for r in rows if r["step"] == "enhet_verksamhetsplan" and r["unit"] == "enh_a1")
    assert unit_plan["due"] == "2026-12-23" and unit_plan["nominal_due"] == "2026-12-24"
    assert unit_plan["owner"] == "eva.a1" and unit_plan["owner_email"] == "eva.a1@example.se"
    assert unit_plan["decided_by"] == "overordnad_linjechef"
    assert unit_plan["depends_on"] == ["omrade_verksamhetsplan:omr_a"]
    regionplan = next(r for r in rows if r["step"] == "regionplan")
    assert regionplan["nominal_due"] is None and regionplan["meeting"] == "2026-06-16"


def test_csv_matches_json():
    rows = json.loads(plan("--format", "json").stdout)
    table = list(csv.DictReader(io.StringIO(plan("--format", "csv").stdout)))
    assert [r["step"] for r in table] == [r["step"] for r in rows]
    assert [r["due"] for r in table] == [r["due"] for r in rows]
    assert table[0]["depends_on"] == ";".join(rows[0]["depends_on"])


def test_table_lists_steps_in_swedish():
    result = runner.invoke(app, ["plan", "2027", "--org", str(SMALL_ORG), "--unit", "enh_a1"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "Deadline" in result.output and "Enhetens verksamhetsplan" in result.output
    assert "flyttad till föregående arbetsdag" in result.output


@pytest.mark.parametrize(
    "args, expected_steps",
    [
        (("--unit", "omr_b"), {"omrade_verksamhetsplan", "enhet_verksamhetsplan", "tertialrapport_omrade"}),
        (("--unit", "rs"), {"rs_verksamhetsplan", "rapport_till_rf"}),
        (("--role", "ekonomidirektor"), {"regionplan", "manadsrapport", "arsredovisning"}),
        (
            ("--person", "Otto.B@example.se"),
            {"omrade_verksamhetsplan", "enhet_verksamhetsplan", "tertialrapport_omrade"},
        ),
    ],
)
def test_filters(args, expected_steps):
    result = plan("--format", "json", *args)
    assert result.exit_code == 0, result.output
    assert {r["step"] for r in json.loads(result.stdout)} == expected_steps


@pytest.mark.parametrize(
    "args, message",
    [
        (("--unit", "nowhere"), "okänd enhet 'nowhere'"),
        (("--role", "kung"), "okänd roll 'kung'"),
        (("--person", "x@example.se"), "okänd person"),
        (("--format", "pdf"), "okänt format 'pdf'"),
    ],
)
def test_bad_arguments_exit_2_in_swedish(args, message):
    result = plan(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_ics_is_valid_and_round_trips(tmp_path):
    out = tmp_path / "plan.ics"
    result = plan("--format", "ics", "--output", str(out))
    assert result.exit_code == 0, result.output
    rows = {r["uid"]: r for r in json.loads(plan("--format", "json").stdout)}
    calendar = icalendar.Calendar.from_ical(out.read_bytes())
    assert calendar["METHOD"] == "PUBLISH" and calendar["VERSION"] == "2.0"
    timezones = [c for c in calendar.walk("VTIMEZONE")]
    assert [str(tz["TZID"]) for tz in timezones] == ["Europe/Stockholm"]
    # The zone carries both the summer and the winter rule.
    assert {c.name for c in timezones[0].subcomponents} == {"STANDARD", "DAYLIGHT"}
    events = calendar.walk("VEVENT")
    assert len(events) == len(rows) == 15
    for event in events:
        row = rows[str(event["UID"])]
        assert event.decoded("DTSTART") == dt.date.fromisoformat(row["due"])
        assert event.decoded("DTEND") == dt.date.fromisoformat(row["due"]) + dt.timedelta(days=1)
        assert event.decoded("DTSTAMP").tzinfo is not None
        assert row["name"] in str(event["SUMMARY"])
        alarms = event.walk("VALARM")
        assert len(alarms) == len(row["reminders"])
        for alarm, reminder in zip(alarms, row["reminders"], strict=True):
            # The alarm fires at 08:00 on the reminder day, relative to the all-day start.
            fires = dt.datetime.combine(dt.date.fromisoformat(row["due"]), dt.time()) + alarm.decoded("TRIGGER")
            assert fires == dt.datetime.combine(dt.date.fromisoformat(reminder), dt.time(8, 0))
            assert str(alarm["DESCRIPTION"]) == str(event["SUMMARY"])


def test_ics_uids_are_stable_across_runs(tmp_path):
    first = icalendar.Calendar.from_ical(plan("--format", "ics").stdout_bytes)
    second = icalendar.Calendar.from_ical(plan("--format", "ics").stdout_bytes)
    assert [str(e["UID"]) for e in first.walk("VEVENT")] == [str(e["UID"]) for e in second.walk("VEVENT")]
