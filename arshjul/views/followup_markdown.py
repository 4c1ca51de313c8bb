"""The follow-up report for the Prefect UI: a table of the figures and a markdown
summary (red and yellow items with their comments, early warnings, what is missing).
Everything people typed goes through `inert` / `table_cell`. Pure."""

from __future__ import annotations

from typing import Any

from arshjul.views.markdown import inert, table_cell
from models.swedish_followup import percent, signed


def figures_table(data: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per level and status: the table artifact."""
    labels = {entry["key"]: entry["label"] for scale in data["statuses"].values() for entry in scale}
    rows = []
    for level in data["levels"]:
        for status, count in level["counts"].items():
            row = {
                "Nivå": level["name"],
                "Status": labels[status],
                "Antal": count,
                "Andel": percent(level["shares"][status]),
            }
            if "change" in level:
                row["Förändring"] = signed(level["change"][status])
            rows.append(row)
    return rows


def summary_markdown(data: dict[str, Any]) -> str:
    period = data["period"]
    scope = f" · {inert(data['scope']['name'])}" if data["scope"] else ""
    coverage = data["coverage"]
    lines = [
        f"# Uppföljning {inert(period['name'])} {data['year']}{scope}",
        "",
        f"Rapporterat: **{coverage['reported']} av {coverage['items']}** ({percent(coverage['share'])}).",
        "",
        "| Nivå | Antal | Fördelning |",
        "|---|---|---|",
    ]
    labels = {entry["key"]: entry["label"] for scale in data["statuses"].values() for entry in scale}
    for level in data["levels"]:
        parts = ", ".join(f"{n} {labels[s]}" for s, n in level["counts"].items() if n)
        lines.append(f"| {table_cell(level['name'])} | {level['total']} | {parts} |")
    rules = "; ".join(f"{inert(rule['name'])}: {rule['description']}" for rule in data["rules"])
    lines += ["", f"*Sammanräkning:* {rules}.", ""]
    if data["early_warning"]:
        lines += ["## Tidig varning", "", "| Mål | Varför | Ansvarig |", "|---|---|---|"]
        for row in data["early_warning"]:
            lines.append(
                f"| {table_cell(row['name'])} | {row['reason_text']} | {table_cell(row['official_name'] or '–')} |"
            )
        lines.append("")
    lines += ["## Röda och gula", ""]
    attention = sorted(data["attention"], key=lambda row: (row["status"] != "rod", row["level"]))
    if attention:
        lines += ["| Nivå | Mål | Status | Kommentar | Ansvarig |", "|---|---|---|---|---|"]
        for row in attention:
            cells = [row["level_name"], row["name"], row["status_label"], row["comment"] or "–", row["owner_name"]]
            lines.append("| " + " | ".join(table_cell(cell) for cell in cells) + " |")
    else:
        lines.append("Inga röda eller gula mål.")
    lines += ["", "## Inte rapporterat", ""]
    if data["not_reported"]:
        for row in data["not_reported"]:
            lines.append(f"- {inert(row['name'])}: {row['missing']} av {row['owned']} saknar status")
    else:
        lines.append("Alla har rapporterat.")
    return "\n".join(lines)
