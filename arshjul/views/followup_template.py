"""The follow-up file a unit fills in (`arshjul followup template`): one row per item it
reports, its current status filled in, as CSV (semicolons, as Swedish Excel writes) or
XLSX (with the statuses offered in a list). `models.followup_import` reads it back."""

from __future__ import annotations

import csv
import io

from models.followup import Reported
from models.followup_import import ANALYSIS_KEY, COLUMNS
from models.goals import STATUSES, GoalPlan
from models.organisation import Organisation


def template_rows(
    plan: GoalPlan,
    organisation: Organisation,
    *,
    statuses: dict[str, Reported],
    analyses: dict[str, str],
    unit: str | None = None,
) -> list[list[str]]:
    """The header and a row per reported item (of `unit` and below, or all), then the
    analysis row of each unit or body the file covers."""
    keys = plan.in_scope(unit, organisation) if unit else plan.reported
    rows = [list(COLUMNS)]
    owners: list[str] = []
    for key in keys:
        item = plan.items[key]
        reported = statuses.get(key)
        scale = plan.scale_of(key)
        assert scale is not None  # `reported` holds only reported levels
        value = "" if reported is None or reported.value is None else f"{reported.value:g}".replace(".", ",")
        rows.append(
            [
                key,
                plan.levels[item.level].name,
                item.name,
                item.owner,
                STATUSES[scale][reported.status] if reported else "",
                (reported.comment or "") if reported else "",
                value,
            ]
        )
        if item.owner not in owners:
            owners.append(item.owner)
    for owner in [unit] if unit else owners:
        rows.append([ANALYSIS_KEY, "Analys", "Sammanfattande analys", owner, "", analyses.get(owner, ""), ""])
    return rows


def to_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")  # the BOM tells Excel it is UTF-8


def to_xlsx(rows: list[list[str]], *, title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Uppföljning"
    for row in rows:
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # what people typed is text: "=…" never becomes a formula
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDEFG", (28, 16, 60, 26, 22, 70, 10), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    labels = [label for scale in STATUSES.values() for label in scale.values()]
    choices = DataValidation(type="list", formula1='"' + ",".join(labels) + '"', allow_blank=True)
    choices.error = "Välj en status i listan."
    sheet.add_data_validation(choices)
    choices.add(f"E2:E{max(len(rows), 2)}")
    guide = workbook.create_sheet("Instruktioner")
    guide.append([title])
    guide.append(["Fyll i status för varje rad; kommentar krävs för gul och röd. Tom status = ej rapporterad."])
    for scale, names in (
        ("Mål och uppdrag", STATUSES[next(iter(STATUSES))]),
        ("Aktiviteter", list(STATUSES.values())[1]),
    ):
        guide.append([scale, ", ".join(names.values())])
    guide.append(["Raden analys: skriv enhetens sammanfattande analys i kolumnen kommentar."])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
