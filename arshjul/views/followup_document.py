"""The follow-up report as a standalone Swedish document (`followup.html`): the report's
data (`arshjul.views.followup_report.report_data`) with its charts and the drill-down
lists behind every red and yellow figure. Pure."""

from __future__ import annotations

import datetime as dt
from typing import Any

from markupsafe import Markup

from arshjul.views.documents import render_document
from arshjul.views.followup_charts import area_charts, level_chart
from models.goals import WARNING_STATUSES
from models.swedish import join_list

PLURAL = {
    "gron": "gröna",
    "gul": "gula",
    "rod": "röda",
    "ej_matbar": "ej mätbara",
    "planerad": "planerade",
    "pagaende": "pågående enligt plan",
    "forsenad": "försenade",
    "genomford": "genomförda",
    "ej_rapporterad": "ej rapporterade",
}


def anchor(*parts: str) -> str:
    return "-".join(part.replace("_", "-") for part in parts)


def _sentence(level: dict[str, Any]) -> str:
    parts = [f"{n} {PLURAL[status]}" for status, n in level["counts"].items() if n]
    return f"Av {level['total']} {level['name'].lower()} var {join_list(parts)}."


def _drill_downs(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Every list a red or yellow figure links to: the items behind it."""
    attention = data["attention"]
    units = {unit["key"]: unit for unit in data["units"]}

    def unit_chain(owner: str) -> list[str]:
        chain = []
        while owner in units:
            chain.append(owner)
            owner = units[owner]["parent"] or ""
        return chain

    lists: dict[str, dict[str, Any]] = {}

    def add(list_id: str, heading: list[dict[str, str]], item: dict[str, Any]) -> None:
        entry = lists.setdefault(list_id, {"id": list_id, "heading": heading, "items": []})
        entry["items"].append(item)

    areas = {area["key"]: area["name"] for area in data["malomraden"]}
    for item in attention:
        what = f"{item['level_name']} · {item['status_label']}"
        if item["malomrade"]:
            add(
                anchor("omrade", item["malomrade"], item["level"], item["status"]),
                [
                    {"name": areas[item["malomrade"]], "href": "#" + anchor("rad-omrade", item["malomrade"])},
                    {"name": what},
                ],
                item,
            )
        for step in item["path"][:-1]:
            add(
                anchor("under", step["key"], item["level"], item["status"]),
                [{"name": step["name"], "href": "#" + anchor("rad-mal", step["key"])}, {"name": what}],
                item,
            )
        for unit in unit_chain(item["owner"]):
            crumbs = [
                {"name": units[key]["name"], "href": "#" + anchor("rad-enhet", key)} for key in unit_chain(unit)[::-1]
            ]
            add(anchor("enhet", unit, item["level"], item["status"]), [*crumbs, {"name": what}], item)
    return list(lists.values())


def render_report(data: dict[str, Any]) -> str:
    """The HTML document: the same facts as the JSON, for people."""
    drill_downs = _drill_downs(data)
    return render_document(
        "followup.html",
        data=data,
        period=data["period"],
        as_of=dt.date.fromisoformat(data["period"]["as_of"]),
        labels={entry["key"]: entry["label"] for scale in data["statuses"].values() for entry in scale},
        summary=[_sentence(level) for level in data["levels"]],
        level_chart=Markup(level_chart(data)),  # noqa: S704 - matplotlib's SVG; its labels are ours
        area_charts=[Markup(chart) for chart in area_charts(data)],  # noqa: S704
        drill_downs=drill_downs,
        linked={entry["id"] for entry in drill_downs}
        | {anchor("lista", item["level"], item["status"]) for item in data["attention"]},
        warning_statuses=WARNING_STATUSES,
        severity_order=["rod", "forsenad", "gul"],
        plural=PLURAL,
        anchor=anchor,
    )
