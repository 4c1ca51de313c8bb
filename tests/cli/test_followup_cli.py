"""`arshjul followup import|template`: seed 003's statuses through the public import; a
damaged file stores nothing and names every bad line and column."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from arshjul.cli import app
from arshjul.core.database import get_engine
from models.tables import AuditEntry, GoalStatus
from tests.conftest import REGION_ORG
from tests.prefect_support import app_environment

runner = CliRunner()
FIXTURES = Path(__file__).parent.parent / "fixtures" / "followup"
PLANNER = "helena.nordin@example.se"


@pytest.fixture
def region_app(tmp_path, region_definition):
    assert region_definition.organisation.people["helena_nordin"].email == PLANNER
    with app_environment(tmp_path / "home", REGION_ORG):
        yield tmp_path


def followup(*args: str):
    return runner.invoke(app, ["followup", *args])


def import_file(path: Path, period: str):
    return followup("import", str(path), "--year", "2027", "--period", period, "--as", PLANNER)


def stored_statuses() -> int:
    with Session(get_engine()) as session:
        return session.exec(select(func.count()).select_from(GoalStatus)).one()


def test_seed_003_imports(region_app):
    result = import_file(FIXTURES / "seed003-T1.csv", "T1")
    assert result.exit_code == 0, result.output
    assert "Läste 78 statusar och 1 analyser för T1 2027" in result.stdout
    result = import_file(FIXTURES / "seed003-T2.csv", "T2")
    assert result.exit_code == 0, result.output
    assert stored_statuses() == 78 + 141
    # The same file again changes nothing and adds no audit entry.
    with Session(get_engine()) as session:
        entries = session.exec(select(func.count()).select_from(AuditEntry)).one()
    result = import_file(FIXTURES / "seed003-T2.csv", "T2")
    assert "(0 ändrade" in result.stdout
    with Session(get_engine()) as session:
        assert session.exec(select(func.count()).select_from(AuditEntry)).one() == entries


def test_a_damaged_file_stores_nothing_and_names_every_bad_line(region_app):
    lines = (FIXTURES / "seed003-T1.csv").read_text(encoding="utf-8").splitlines()
    lines[2] = "m_hemsjukvard_avtal;Mätbara mål;x;regionstyrelsen;grönn;;8"  # line 3: unknown status
    lines[3] = "m_fast_vardkontakt;Mätbara mål;x;regionstyrelsen;gul;;49"  # line 4: gul without comment
    lines[4] = "m_oppenvard_andel;Mätbara mål;x;regionstyrelsen;grön;;sjuttiofem"  # line 5: not a number
    lines[5] = "m_finns_inte;Mätbara mål;x;regionstyrelsen;grön;;"  # line 6: unknown item
    lines[6] = lines[1]  # line 7: the uppdrag of line 2 again
    lines[7] = "om_ekonomi;Övergripande mål;x;regionfullmaktige;grön;;"  # line 8: a level not reported
    lines[8] = "u_tillganglighet;Uppdrag;x;regionstyrelsen;grön;;12"  # line 9: an uppdrag has no indicator
    damaged = region_app / "damaged.csv"
    damaged.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = import_file(damaged, "T1")
    assert result.exit_code == 2
    assert "7 fel i damaged.csv; ingenting har lagrats" in result.stderr
    for expected in (
        "rad 3, kolumn E (status): okänd status 'grönn': skriv grön, gul, röd eller ej mätbar",
        "rad 4, kolumn F (kommentar): status gul kräver en kommentar",
        "rad 5, kolumn G (värde): 'sjuttiofem' är inget tal",
        "rad 6, kolumn A (nyckel): okänt mål 'm_finns_inte' i målstrukturen för 2027",
        "rad 7, kolumn A (nyckel): 'u_nara_vard_omstallning' finns redan på rad 2",
        "rad 8, kolumn A (nyckel): 'om_ekonomi' hör till nivån Övergripande mål, som inte rapporteras",
        "rad 9, kolumn G (värde): 'u_tillganglighet' har ingen indikator som kan få ett värde",
    ):
        assert expected in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert stored_statuses() == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"", "filen är tom", id="empty"),
        pytest.param(b"nyckel;farg\n", "rad 1, kolumn B: okänd kolumn 'farg'", id="unknown-column"),
        pytest.param(b"nyckel;namn\n", "rad 1: kolumnrubrik saknas: status", id="no-status-column"),
        pytest.param(b"\xff\xfe\x00garbage\x81\x8d", "rad 1", id="not-text"),
    ],
)
def test_files_that_are_not_a_report(region_app, content, message):
    path = region_app / "bad.csv"
    path.write_bytes(content)
    result = import_file(path, "T1")
    assert result.exit_code == 2 and message in result.stderr, result.stderr
    assert stored_statuses() == 0


def test_a_damaged_spreadsheet_is_refused(region_app):
    path = region_app / "bad.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    result = import_file(path, "T1")
    assert result.exit_code == 2 and "ingen läsbar XLSX-arbetsbok" in result.stderr


def test_the_template_goes_round_through_xlsx_and_csv(region_app):
    assert import_file(FIXTURES / "seed003-T2.csv", "T2").exit_code == 0
    for suffix in ("xlsx", "csv"):
        template = region_app / f"mall.{suffix}"
        result = followup("template", "2027", "--period", "T2", "-o", str(template))
        assert result.exit_code == 0, result.output
        again = import_file(template, "T2")
        assert again.exit_code == 0, again.output
        assert "Läste 141 statusar och 1 analyser" in again.stdout and "(0 ändrade" in again.stdout
    # A unit's own template: its items and those of the units below it.
    template = region_app / "it.csv"
    assert (
        followup("template", "2027", "--period", "T1", "--unit", "digitalisering_it", "-o", str(template)).exit_code
        == 0
    )
    rows = template.read_text(encoding="utf-8-sig").splitlines()
    assert rows[0] == "nyckel;nivå;namn;ansvarig;status;kommentar;värde"
    assert len(rows) == 1 + 9 + 1 and rows[-1].startswith("analys;Analys;Sammanfattande analys;digitalisering_it")


def test_bad_options_are_refused_in_swedish(region_app):
    path = FIXTURES / "seed003-T1.csv"
    assert (
        "okänd period 'T9'" in followup("import", str(path), "--year", "2027", "--period", "T9", "--as", PLANNER).stderr
    )
    assert (
        "ingen målstruktur för 2031"
        in followup("import", str(path), "--year", "2031", "--period", "T1", "--as", PLANNER).stderr
    )
    result = followup("import", str(path), "--year", "2027", "--period", "T1", "--as", "nagon@annanstans.se")
    assert result.exit_code == 2 and "okänd e-postadress" in result.stderr


def test_bad_report_options_are_refused_in_swedish(region_app):
    def report(*args: str):
        return runner.invoke(app, ["report", "followup", "2027", "-o", str(region_app / "r.html"), *args])

    for args, message in (
        (["--period", "T9"], "okänd period 'T9' för 2027: välj T1, T2, T3"),
        (["--period", "T1", "--format", "docx"], "okänt format 'docx'"),
        (["--period", "T1", "--unit", "ingen"], "okänd enhet 'ingen'"),
    ):
        result = report(*args)
        assert result.exit_code == 2 and message in result.stderr, result.output
    assert not (region_app / "r.html").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["followup", "template", "2027", "--period", "T1", "-o", "/saknas/mall.csv"],
        ["report", "followup", "2027", "--period", "T1", "-o", "/saknas/rapport.html"],
    ],
    ids=["template", "report"],
)
def test_an_output_in_a_missing_folder_is_refused_in_swedish(region_app, args):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "mappen /saknas finns inte" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


def test_an_indicator_value_too_large_for_a_number_is_refused(region_app):
    lines = (FIXTURES / "seed003-T1.csv").read_text(encoding="utf-8").splitlines()
    lines[2] = "m_hemsjukvard_avtal;Mätbara mål;x;regionstyrelsen;grön;;" + "9" * 400  # float: infinity
    damaged = region_app / "huge.csv"
    damaged.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = import_file(damaged, "T1")
    assert result.exit_code == 2, result.output
    assert "rad 3, kolumn G (värde):" in result.stderr and "för stort" in result.stderr, result.stderr
    assert stored_statuses() == 0


def test_an_import_without_a_user_name_for_the_uid_still_records_who_ran_it(region_app, monkeypatch):
    """In a container without a passwd entry getpass has no name: the uid is recorded."""
    import getpass
    import os

    def no_name():
        raise KeyError("getpwuid(): uid not found")

    monkeypatch.setattr(getpass, "getuser", no_name)
    result = import_file(FIXTURES / "seed003-T1.csv", "T1")
    assert result.exit_code == 0, result.output
    with Session(get_engine()) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "followup.reported")).one()
    assert entry.origin["os_user"] == str(os.getuid()) and entry.origin["file"] == "seed003-T1.csv"


def test_an_import_by_someone_who_may_not_report_stores_nothing(region_app, region_definition):
    """`--as` is checked like every other action: a chef who owns no step covering these
    goals (and holds no change_plan role) is refused, exit code 2, nothing stored."""
    chef = next(p for p in region_definition.organisation.people.values() if p.key != "helena_nordin")
    path = FIXTURES / "seed003-T1.csv"
    result = followup("import", str(path), "--year", "2027", "--period", "T1", "--as", chef.email)
    assert result.exit_code == 2, result.output
    assert "seed003-T1.csv lagras inte" in result.stderr
    assert f"{chef.name} får inte rapportera målen för" in result.stderr
    assert stored_statuses() == 0


def test_an_analysis_that_a_submitted_report_showed_stays_as_it_was(region_app, tmp_path):
    """The analysis rows are checked like the statuses: the regionstyrelse's T1 report is
    submitted, so not even the regionstab changes its analysis."""
    from arshjul.core import runtime
    from arshjul.core.database import session_scope
    from models.cycles import store_cycle
    from models.tables import FollowupAnalysis, StepInstance, StepState
    from tests.conftest import CYCLE_STORED_AT

    with session_scope(runtime.engine()) as session:
        store_cycle(runtime.definition(), 2027, session=session, now=CYCLE_STORED_AT)
    with session_scope(runtime.engine()) as session:
        report = session.exec(select(StepInstance).where(StepInstance.step == "tertialrapport_rs")).one()
        report.state = StepState.submitted
        session.add(report)
    lines = (FIXTURES / "seed003-T1.csv").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "analys.csv"
    path.write_text("\n".join([lines[0], *(line for line in lines if line.startswith("analys;"))]), encoding="utf-8")
    result = import_file(path, "T1")
    assert result.exit_code == 2, result.output
    assert "är redan inlämnad: dess mål och analyser kan inte ändras" in " ".join(result.stderr.split())
    with Session(get_engine()) as session:
        assert session.exec(select(FollowupAnalysis)).all() == []
