"""`arshjul validate`: every error kind is located (file, line, field), several are reported
at once, the exit code is 2, and random damage never produces a traceback."""

import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from arshjul.cli import app
from models.definition import DefinitionError
from models.validation import load_definition
from tests.conftest import SMALL_ORG

runner = CliRunner()


def line_of(path: Path, needle: str, occurrence: int = 1) -> int:
    """The 1-based line where `needle` occurs (the n-th time)."""
    seen = 0
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{needle!r} not in {path}")


def damage(folder: Path, file: str, old: str, new: str) -> int:
    """Replace text in one file of the copy; return the line the change is on."""
    path = folder / file
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    return line_of(path, new.splitlines()[0] if new else old)


def issues_of(folder: Path) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        load_definition(folder)
    return [str(issue) for issue in caught.value.issues]


def assert_issue(issues: list[str], file: str, line: int, field: str, message: str) -> None:
    prefix = f"{file}:{line}: {field}: "
    matching = [i for i in issues if i.startswith(prefix) and message in i]
    assert matching, f"no issue {prefix}…{message}… in:\n" + "\n".join(issues)


@pytest.mark.parametrize(
    "file, old, new, field, message",
    [
        (
            "arshjul.yaml",
            "owner_role: enhetschef",
            "owner_role: enhetchef",
            "steps[3].owner_role",
            "okänd roll 'enhetchef'",
        ),
        (
            "arshjul.yaml",
            "decided_by: rf\n    opens: {date: Y-1-01-11}",
            "decided_by: rff\n    opens: {date: Y-1-01-11}",
            "steps[0].decided_by",
            "okänd roll eller okänt organ 'rff'",
        ),
        (
            "arshjul.yaml",
            "due: {meeting: rf, month: Y-1-06",
            "due: {meeting: rfx, month: Y-1-06",
            "steps[0].due.meeting",
            "okänt organ 'rfx'",
        ),
        (
            "organisation.yaml",
            "parent: omr_a, manager: eva.a1",
            "parent: omr_x, manager: eva.a1",
            "units[4].parent",
            "okänd enhet 'omr_x'",
        ),
        (
            "arshjul.yaml",
            "applies_to: {bodies: [rs]}\n    owner_role: forvaltningschef\n    decided_by: self",
            "applies_to: {bodies: [rs, kf]}\n    owner_role: forvaltningschef\n    decided_by: self",
            "steps[1].applies_to.bodies[1]",
            "okänt organ 'kf'",
        ),
        (
            "arshjul.yaml",
            "due: {meeting: rf, month: Y-1-06",
            "due: {meeting: rf, month: Y-1-07",
            "steps[0].due.month",
            "har inget sammanträde i juli 2026",
        ),
        (
            "arshjul.yaml",
            "depends_on: [omrade_verksamhetsplan]",
            "depends_on: [omrade_verksamhetsplanen]",
            "steps[3].depends_on[0]",
            "okänt steg 'omrade_verksamhetsplanen'",
        ),
        ("arshjul.yaml", "due: {date: Y-1-12-24}", "due: {date: Y-1-09-24}", "steps[3].due", "ligger före öppningen"),
        ("arshjul.yaml", "reminders: [5]", "reminders: [5]\n    remind_me: yes", "steps[2].remind_me", "okänt fält"),
        (
            "organisation.yaml",
            "closure_days: [2027-05-07]",
            "closure_days: [2027-02-30]",
            "organisation.closure_days[0]",
            "ogiltigt datum '2027-02-30'",
        ),
        (
            "arshjul.yaml",
            "opens: {date: Y-1-09-01}",
            "opens: {date: Y-1-09-31}",
            "steps[2].opens.date",
            "månad 9 har ingen dag 31",
        ),
        ("meetings-2027.yaml", "2027-06-15", "2027-13-15", "meetings.rf[1].date", "ogiltigt datum '2027-13-15'"),
        (
            "organisation.yaml",
            "{key: omr_b, name: Område B",
            "{key: omr_a, name: Område B",
            "units[3].key",
            "nyckeln 'omr_a' finns redan",
        ),
        (
            "arshjul.yaml",
            "    kind: plan\n    process: planering\n    level: region\n    owner_role: ekonomidirektor",
            "    kind: plan\n    kind: report\n    process: planering\n    level: region\n"
            "    owner_role: ekonomidirektor",
            "steps[0].kind",
            "nyckeln 'kind' förekommer två gånger",
        ),
        (
            "organisation.yaml",
            "email: otto.b@example.se",
            "email: otto.b-example.se",
            "people[4].email",
            "ogiltig e-postadress",
        ),
        (
            "arshjul.yaml",
            "escalation: [{after: 2, alert: owner_manager}]\n\n  - key: rs_",
            "escalation: [{after: 2, alert: chefen}]\n\n  - key: rs_",
            "steps[0].escalation[0].alert",
            "okänd roll 'chefen'",
        ),
        ("organisation.yaml", "standin: otto.b}", "standin: nobody}", "people[3].standin", "okänd person 'nobody'"),
    ],
)
def test_each_error_is_located(small_copy, file, old, new, field, message):
    line = damage(small_copy, file, old, new)
    if "\n" in new and new.splitlines()[0] == old.splitlines()[0]:
        # Multi-line insertions: locate the line that was added.
        added = next(n for n in new.splitlines() if n not in old.splitlines())
        line = line_of(small_copy / file, added)
    assert_issue(issues_of(small_copy), file, line, field, message)


def test_dependency_cycle_is_reported_with_its_path(small_copy):
    damage(small_copy, "arshjul.yaml", "depends_on: [regionplan]", "depends_on: [regionplan, enhet_verksamhetsplan]")
    issues = issues_of(small_copy)
    cycle = [i for i in issues if "beroendecykel" in i]
    assert len(cycle) == 1, issues
    ring = ["rs_verksamhetsplan", "enhet_verksamhetsplan", "omrade_verksamhetsplan"]
    # The cycle is reported once, starting wherever the search entered it.
    rotations = [" → ".join(ring[i:] + ring[:i] + [ring[i]]) for i in range(3)]
    assert any(rotation in cycle[0] for rotation in rotations), cycle[0]
    assert cycle[0].startswith("arshjul.yaml:")


def test_dependency_due_after_dependent_is_rejected(small_copy):
    damage(small_copy, "arshjul.yaml", "due: {date: Y-1-11-30}", "due: {date: Y-1-12-28}")
    issues = issues_of(small_copy)
    # Reported at the rule that gives the too-early deadline, naming the dependency's line.
    line = line_of(small_copy / "arshjul.yaml", "due: {date: Y-1-12-24}")
    needed = line_of(small_copy / "arshjul.yaml", "depends_on: [omrade_verksamhetsplan]")
    assert_issue(
        issues,
        "arshjul.yaml",
        line,
        "steps[3].due",
        f"deadline 2026-12-23 ligger före deadline 2026-12-28 för 'omrade_verksamhetsplan' (depends_on, rad {needed})",
    )


def test_several_errors_are_reported_at_once(small_copy):
    damage(small_copy, "arshjul.yaml", "owner_role: enhetschef", "owner_role: enhetchef")
    damage(
        small_copy,
        "arshjul.yaml",
        "process: uppfoljning\n    level: omrade",
        "process: uppfoljningen\n    level: omrade",
    )
    damage(small_copy, "organisation.yaml", "closure_days: [2027-05-07]", "closure_days: [2027-05-32]")
    damage(small_copy, "meetings-2026.yaml", "example: true", "example: maybe")
    issues = issues_of(small_copy)
    # The organisation error is found together with the meetings error; the templates are
    # checked once the organisation they refer to is sound.
    assert any("organisation.yaml" in i and "2027-05-32" in i for i in issues)
    assert any(i.startswith("meetings-2026.yaml:2: example: måste vara true eller false") for i in issues)
    damage(small_copy, "organisation.yaml", "closure_days: [2027-05-32]", "closure_days: [2027-05-07]")
    damage(small_copy, "meetings-2026.yaml", "example: maybe", "example: true")
    issues = issues_of(small_copy)
    assert len(issues) == 2
    assert any("okänd roll 'enhetchef'" in i for i in issues)
    assert any("okänd process 'uppfoljningen'" in i for i in issues)


def test_yaml_syntax_error_is_located(small_copy):
    path = small_copy / "arshjul.yaml"
    lines = path.read_text().splitlines()
    lines[5] = lines[5] + ": ["
    path.write_text("\n".join(lines))
    issues = issues_of(small_copy)
    assert issues[0].startswith("arshjul.yaml:6: ") or issues[0].startswith("arshjul.yaml:7: "), issues
    assert "ogiltig YAML" in issues[0]


def test_unknown_file_and_missing_file(small_copy):
    (small_copy / "meeting-2027.yaml").write_text("year: 2027\n")
    (small_copy / "arshjul.yaml").unlink()
    issues = issues_of(small_copy)
    assert "arshjul.yaml: filen saknas" in issues
    assert any(i.startswith("meeting-2027.yaml: okänd fil") for i in issues)


def test_meeting_on_a_holiday_is_rejected(small_copy):
    line = damage(small_copy, "meetings-2027.yaml", "2027-06-15", "2027-06-25")
    assert_issue(
        issues_of(small_copy), "meetings-2027.yaml", line, "meetings.rf[1]", "ingen arbetsdag (Midsommarafton)"
    )


def test_cli_validate_passes_and_fails(small_copy):
    ok = runner.invoke(app, ["validate", str(SMALL_ORG), "--cycles", "2027"])
    assert ok.exit_code == 0, ok.output
    assert "OK" in ok.output and "cykel 2027 planerad utan fel" in ok.output
    damage(small_copy, "arshjul.yaml", "owner_role: enhetschef", "owner_role: enhetchef")
    bad = runner.invoke(app, ["validate", str(small_copy)])
    assert bad.exit_code == 2
    assert "arshjul.yaml:" in bad.output and "okänd roll 'enhetchef'" in bad.output
    assert "Traceback" not in bad.output


def test_cli_plan_on_broken_folder_writes_nothing(small_copy, tmp_path):
    damage(small_copy, "arshjul.yaml", "owner_role: enhetschef", "owner_role: enhetchef")
    out = tmp_path / "plan.json"
    result = runner.invoke(app, ["plan", "2027", "--org", str(small_copy), "--format", "json", "--output", str(out)])
    assert result.exit_code == 2
    assert not out.exists()


# -- random damage ------------------------------------------------------------------------

FILES = ["organisation.yaml", "arshjul.yaml", "meetings-2027.yaml"]
ORIGINALS = {name: (SMALL_ORG / name).read_text() for name in FILES}
NOISE = st.text(alphabet=string.ascii_letters + string.digits + " :-[]{},#&*!|>'\"\n\t@%`?åäö", max_size=12)


@st.composite
def damaged_file(draw):
    name = draw(st.sampled_from(FILES))
    text = ORIGINALS[name]
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["insert", "delete", "replace", "swap_lines", "dup_line"]))
        position = draw(st.integers(0, len(text)))
        if kind == "insert":
            text = text[:position] + draw(NOISE) + text[position:]
        elif kind == "delete":
            text = text[:position] + text[position + draw(st.integers(1, 30)) :]
        elif kind == "replace":
            text = text[:position] + draw(NOISE) + text[position + draw(st.integers(1, 10)) :]
        else:
            lines = text.splitlines()
            if len(lines) > 2:
                i = draw(st.integers(0, len(lines) - 2))
                if kind == "swap_lines":
                    lines[i], lines[i + 1] = lines[i + 1], lines[i]
                else:
                    lines.insert(i, lines[i])
                text = "\n".join(lines)
    return name, text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(damage=damaged_file())
def test_random_damage_never_raises_a_traceback(tmp_path_factory, damage):
    folder = tmp_path_factory.mktemp("damaged")
    for name in FILES + ["meetings-2026.yaml", "meetings-2028.yaml"]:
        (folder / name).write_text((SMALL_ORG / name).read_text())
    name, text = damage
    (folder / name).write_text(text)
    try:
        load_definition(folder)
    except DefinitionError as exc:
        assert exc.issues
        for issue in exc.issues:
            assert issue.file in FILES + ["meetings-2026.yaml", "meetings-2028.yaml"]
            assert issue.message
            # Located: a line number, unless the whole file is missing or unreadable.
            assert issue.line is not None or issue.message.startswith(("filen", "okänd fil")), str(issue)
