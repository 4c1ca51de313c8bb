"""Reading a follow-up file (CSV or XLSX, as the region's current tool exports) into the
statuses and analyses of one period, checked against the cycle's goal structure.

Pure: bytes in, `ParsedReport` out, or `ImportRejected` naming every bad line and column
(in Swedish) — so a damaged file stores nothing. The columns are `COLUMNS`; a row whose
`nyckel` is `analys` carries the analysis of the unit or body in `ansvarig`.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass

from models.followup import Analysis, Reported
from models.goals import NEEDS_COMMENT, STATUSES, GoalPlan, parse_status
from models.organisation import Organisation
from models.swedish import join_list
from models.swedish_followup import either

COLUMNS = ["nyckel", "nivå", "namn", "ansvarig", "status", "kommentar", "värde"]
REQUIRED = ("nyckel", "status")
ANALYSIS_KEY = "analys"
MAX_TEXT = 4000
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")


@dataclass(frozen=True)
class Problem:
    line: int
    column: str  # e.g. "E (status)"; empty for the whole line or file
    message: str

    def __str__(self) -> str:
        where = f"rad {self.line}, kolumn {self.column}" if self.column else f"rad {self.line}"
        return f"{where}: {self.message}"


class ImportRejected(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


@dataclass(frozen=True)
class ParsedReport:
    reported: list[Reported]
    analyses: list[Analysis]
    skipped: int  # rows without a status: left ej rapporterad


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def read_rows(filename: str, content: bytes) -> list[tuple[int, list[str]]]:
    """The file's rows as text cells with their line numbers (1-based, header included)."""
    if filename.lower().endswith(".xlsx"):
        return _xlsx_rows(content)
    if filename.lower().endswith(".csv"):
        return _csv_rows(content)
    raise ImportRejected(
        [Problem(1, "", "okänt filformat: använd en .csv- eller .xlsx-fil (se `arshjul followup template`)")]
    )


def _csv_rows(content: bytes) -> list[tuple[int, list[str]]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = content.decode("cp1252")  # Excel's "CSV" on a Swedish Windows
        except UnicodeDecodeError:
            raise ImportRejected([Problem(1, "", "filen är varken UTF-8 eller Windows-1252")]) from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    try:
        return [(number, row) for number, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), 1)]
    except csv.Error as exc:
        raise ImportRejected([Problem(1, "", f"filen är ingen läsbar CSV: {exc}")]) from None


def _xlsx_rows(content: bytes) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook  # only spreadsheets need it

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged file; all mean the same to the user
        raise ImportRejected([Problem(1, "", "filen är ingen läsbar XLSX-arbetsbok")]) from None
    sheet = workbook.worksheets[0]
    rows = []
    for number, values in enumerate(sheet.iter_rows(values_only=True), 1):
        cells = []
        for value in values:
            if value is None:
                cells.append("")
            elif isinstance(value, float) and value.is_integer():
                cells.append(str(int(value)))
            else:
                cells.append(str(value))
        rows.append((number, cells))
    workbook.close()
    return rows


@dataclass(frozen=True)
class Refusal:
    field: str  # status, kommentar or värde
    message: str


def _shown(text: str, limit: int = 40) -> str:
    """Typed text as a refusal repeats it: at most `limit` characters (a paste stays out
    of the audit log and the page)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_entry(plan: GoalPlan, key: str, status_text: str, comment: str, value_text: str) -> Reported | Refusal:
    """One item's status, comment and indicator value as a person wrote them (file row
    or web form): the entry, or why it is refused."""
    scale = plan.scale_of(key)
    assert scale is not None  # the callers checked that the item is reported
    status = parse_status(status_text, scale)
    if status is None:
        return Refusal("status", f"okänd status '{_shown(status_text)}': skriv {either(STATUSES[scale].values())}")
    comment = comment.strip()
    if len(comment) > MAX_TEXT:
        return Refusal("kommentar", f"kommentaren är längre än {MAX_TEXT} tecken")
    if status in NEEDS_COMMENT and not comment:
        return Refusal("kommentar", f"status {STATUSES[scale][status]} kräver en kommentar")
    value = None
    number = value_text.replace(" ", "").replace("\u00a0", "")
    if number:
        if plan.items[key].indicator is None:
            return Refusal("värde", f"'{key}' har ingen indikator som kan få ett värde")
        if not _NUMBER.match(number):
            return Refusal("värde", f"'{_shown(value_text)}' är inget tal")
        value = float(number.replace(",", "."))
        if not math.isfinite(value):
            return Refusal("värde", f"'{_shown(value_text)}' är för stort för att vara ett värde")
    return Reported(key, status, comment or None, value)


def parse_report(filename: str, content: bytes, plan: GoalPlan, organisation: Organisation) -> ParsedReport:
    """Every row checked; all problems raised together, or the report."""
    rows = read_rows(filename, content)
    if not rows:
        raise ImportRejected([Problem(1, "", "filen är tom: den första raden ska vara kolumnrubrikerna")])
    header_line, header = rows[0]
    problems: list[Problem] = []
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        wanted = name.strip().lower()
        if not wanted:
            continue
        if wanted not in COLUMNS:
            problems.append(
                Problem(header_line, _letter(index), f"okänd kolumn '{name}': kolumnerna är {join_list(COLUMNS)}")
            )
        elif wanted in columns:
            problems.append(Problem(header_line, _letter(index), f"kolumnen '{wanted}' finns två gånger"))
        else:
            columns[wanted] = index
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        problems.append(Problem(header_line, "", f"kolumnrubrik saknas: {join_list(missing)}"))
    if problems:
        raise ImportRejected(problems)

    def cell(row: list[str], name: str) -> str:
        index = columns.get(name)
        return row[index].strip() if index is not None and index < len(row) else ""

    def where(name: str) -> str:
        return f"{_letter(columns[name])} ({name})"

    reported: list[Reported] = []
    analyses: list[Analysis] = []
    first_line: dict[str, int] = {}
    skipped = 0
    for line, row in rows[1:]:
        if not any(value.strip() for value in row):
            continue
        key, status_text, comment = cell(row, "nyckel"), cell(row, "status"), cell(row, "kommentar")
        value_text = cell(row, "värde")
        if key.lower() == ANALYSIS_KEY:
            target = cell(row, "ansvarig")
            if len(comment) > MAX_TEXT:
                problems.append(Problem(line, where("kommentar"), f"analysen är längre än {MAX_TEXT} tecken"))
                continue
            if target not in organisation.units and target not in organisation.bodies:
                column = where("ansvarig") if "ansvarig" in columns else ""
                problems.append(
                    Problem(
                        line,
                        column,
                        f"en analysrad behöver en känd enhet eller ett känt organ i ansvarig, inte '{target}'",
                    )
                )
            elif not comment:
                skipped += 1  # left empty, as the template offers it
            elif f"analys:{target}" in first_line:
                problems.append(
                    Problem(line, "", f"analysen för {target} finns redan på rad {first_line[f'analys:{target}']}")
                )
            else:
                first_line[f"analys:{target}"] = line
                analyses.append(Analysis(target, comment))
            continue
        if not key:
            problems.append(Problem(line, where("nyckel"), "nyckel saknas"))
            continue
        item = plan.items.get(key)
        if item is None:
            problems.append(Problem(line, where("nyckel"), f"okänt mål '{key}' i målstrukturen för {plan.year}"))
            continue
        scale = plan.scale_of(key)
        if scale is None:
            level = plan.levels[item.level].name
            problems.append(Problem(line, where("nyckel"), f"'{key}' hör till nivån {level}, som inte rapporteras"))
            continue
        if key in first_line:
            problems.append(Problem(line, where("nyckel"), f"'{key}' finns redan på rad {first_line[key]}"))
            continue
        first_line[key] = line
        if not status_text:
            if comment or value_text:
                problems.append(Problem(line, where("status"), "status saknas (kommentar och värde kräver en status)"))
            else:
                skipped += 1
            continue
        checked = check_entry(plan, key, status_text, comment, value_text)
        if isinstance(checked, Refusal):
            name = checked.field if checked.field in columns else "status"
            problems.append(Problem(line, where(name), checked.message))
            continue
        reported.append(checked)
    if problems:
        raise ImportRejected(problems)
    return ParsedReport(reported, analyses, skipped)
