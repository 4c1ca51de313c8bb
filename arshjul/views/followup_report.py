"""The follow-up report of one period: its facts as one JSON-ready dict (`report_data`),
and that dict as CSV, HTML (with SVG charts) and PDF. Every figure the HTML and PDF show
comes from the dict, so they equal the JSON output. Pure."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

from models.followup import Reported
from models.goal_schema import Rule
from models.goals import NOT_REPORTED, NOT_REPORTED_LABEL, STATUSES, WARNING_STATUSES, GoalPlan, status_label
from models.organisation import Organisation
from models.rollup import Breakdown, Distribution, RollUp, derived_distribution, early_warnings
from models.swedish_followup import rule_name

REASONS = {"turned_red": "har blivit röd", "yellow_twice": "gul två perioder i rad"}


def _distribution(distribution: Distribution, previous: Distribution | None = None) -> dict[str, Any]:
    statuses = distribution.statuses()
    data: dict[str, Any] = {
        "total": distribution.total,
        "reported": distribution.reported,
        "counts": {status: distribution.count(status) for status in statuses},
        "shares": {status: round(distribution.share(status), 4) for status in statuses},
    }
    if previous is not None:
        data["change"] = {status: distribution.count(status) - previous.count(status) for status in statuses}
    return data


def _levels(plan: GoalPlan, breakdown: Breakdown, previous: Breakdown | None = None) -> list[dict[str, Any]]:
    rows = []
    for level in plan.level_order:
        if level not in breakdown:
            continue
        rows.append(
            {
                "level": level,
                "name": plan.levels[level].name,
                "scale": str(breakdown[level].scale),
                **_distribution(breakdown[level], previous.get(level) if previous is not None else None),
            }
        )
    return rows


def responsible_official(
    plan: GoalPlan, period: str, body: str, organisation: Organisation, templates: dict
) -> str | None:
    """Who answers for the body's follow-up this period: the owner of its follow-up step
    (RS: the planeringsdirektör), else the manager of the unit that administers it."""
    target = organisation.target(body)
    for step in plan.periods[period].steps:
        template = templates.get(step)
        if template is not None and template.applies_to is not None and body in (template.applies_to.bodies or []):
            holder = organisation.role_holder(template.owner_role, target.anchor)
            if holder:
                return holder
    return organisation.units[target.anchor].manager if target.anchor in organisation.units else None


def report_data(
    plan: GoalPlan,
    organisation: Organisation,
    templates: dict,
    result: RollUp,
    statuses: dict[str, Reported],
    analyses: dict[str, str],
    *,
    scope: str | None,
    generated: dt.datetime,
) -> dict[str, Any]:
    period = plan.periods[result.period]
    previous_key = result.previous_period
    in_scope = set(result.items)

    def path(key: str) -> list[dict[str, str]]:
        chain = [key, *plan.ancestors_of[key]][::-1]
        return [{"key": k, "name": plan.items[k].name, "level": plan.levels[plan.items[k].level].name} for k in chain]

    def owner_name(key: str) -> str:
        return organisation.target(key).name if key in organisation.units or key in organisation.bodies else key

    def item_row(key: str) -> dict[str, Any]:
        item = plan.items[key]
        reported = statuses.get(key)
        row: dict[str, Any] = {
            "key": key,
            "name": item.name,
            "level": item.level,
            "level_name": plan.levels[item.level].name,
            "malomrade": plan.malomrade_of[key],
            "owner": item.owner,
            "owner_name": owner_name(item.owner),
            "status": result.status[key],
            "status_label": status_label(result.status[key]),
            "comment": reported.comment if reported else None,
            "value": reported.value if reported else None,
            "path": path(key),
        }
        if result.previous is not None:
            row["previous"] = result.previous[key]
        row["indicator"] = item.indicator.model_dump() if item.indicator is not None else None
        return row

    derived_levels = []
    for level in plan.level_order:
        rule = plan.levels[level].rollup.rule
        if plan.levels[level].scale is None and rule is not Rule.distribution:
            derived_levels.append(
                {
                    "level": level,
                    "name": plan.levels[level].name,
                    **_distribution(derived_distribution(plan, result, level)),
                }
            )
    goal_tree = []
    for key, breakdown in result.goal_nodes.items():
        goal_tree.append(
            {
                "key": key,
                "name": plan.items[key].name,
                "level": plan.items[key].level,
                "level_name": plan.levels[plan.items[key].level].name,
                "parent": plan.items[key].parent,
                "depth": len(plan.ancestors_of[key]),
                "status": result.status.get(key),
                "derived": result.derived.get(key),
                "below": _levels(plan, breakdown),
            }
        )
    order = {key: index for index, key in enumerate(plan.items)}
    goal_tree.sort(key=lambda node: order[node["key"]])
    units = []
    for key in organisation.subtree(scope if scope in organisation.units else organisation.root):
        if key in result.units:
            unit = organisation.units[key]
            units.append(
                {
                    "key": key,
                    "name": unit.name,
                    "level": unit.level,
                    "parent": unit.parent if unit.parent in result.units else None,
                    "depth": len([a for a in organisation.ancestors(key) if a in result.units]),
                    "levels": _levels(plan, result.units[key]),
                }
            )
    warnings = [
        {
            **item_row(w.item),
            "reason": w.reason,
            "reason_text": REASONS[w.reason],
            "body": plan.body_of(w.item, organisation),
        }
        for w in early_warnings(plan, result)
    ]
    officials: dict[str, str | None] = {}
    for warning in warnings:
        body = warning["body"]
        if body is not None and body not in officials:
            officials[body] = responsible_official(plan, result.period, body, organisation, templates)
        warning["official"] = officials.get(body) if body else None
        # Keys for machines (JSON, CSV), names for the people who read the report.
        warning["body_name"] = organisation.bodies[body].name if body in organisation.bodies else body
        official = warning["official"]
        warning["official_name"] = organisation.people[official].name if official in organisation.people else official
    return {
        "organisation": organisation.info.name,
        "year": plan.year,
        "period": {"key": period.key, "name": period.name, "as_of": plan.as_of(period.key).isoformat()},
        "previous_period": (
            {"key": previous_key, "name": plan.periods[previous_key].name} if previous_key is not None else None
        ),
        "scope": {"key": scope, "name": owner_name(scope)} if scope else None,
        "generated": generated.isoformat(timespec="seconds"),
        "example": plan.source.example,
        "statuses": {
            str(scale): [{"key": k, "label": v} for k, v in [*labels.items(), (NOT_REPORTED, NOT_REPORTED_LABEL)]]
            for scale, labels in STATUSES.items()
        },
        "rules": [
            {
                "level": level.key,
                "name": level.name,
                "rule": str(level.rollup.rule),
                "description": rule_name(str(level.rollup.rule), level.rollup.red_share, level.rollup.yellow_share),
            }
            for level in plan.source.levels
        ],
        "coverage": {
            "items": len(result.items),
            "reported": sum(1 for key in result.items if result.status[key] != NOT_REPORTED),
            "share": round(result.coverage, 4),
        },
        "levels": _levels(plan, result.levels, result.previous_levels),
        "derived_levels": derived_levels,
        "malomraden": [
            {"key": key, "name": name, "levels": _levels(plan, result.malomraden[key])}
            for key, name in plan.malomraden.items()
            if key in result.malomraden
        ],
        "bodies": [
            {"key": key, "name": organisation.bodies[key].name, "levels": _levels(plan, breakdown)}
            for key, breakdown in result.bodies.items()
        ],
        "units": units,
        "goal_tree": goal_tree,
        "attention": [item_row(key) for key in result.items if result.status[key] in WARNING_STATUSES],
        "not_reported": [
            {"owner": owner, "name": owner_name(owner), "missing": missing, "owned": result.owned[owner]}
            for owner, missing in sorted(result.not_reported.items(), key=lambda pair: (-pair[1], pair[0]))
            if missing
        ],
        "changes": [
            {**item_row(key), "before_label": status_label(result.previous[key])}
            for key in result.changes
            if key in in_scope and result.previous is not None
        ],
        "transitions": {
            level: [
                {"from": before, "to": after, "count": n}
                for (before, after), n in sorted(counter.items(), key=lambda pair: -pair[1])
            ]
            for level, counter in result.transitions.items()
        },
        "early_warning": warnings,
        "analyses": [{"owner": key, "name": owner_name(key), "text": text} for key, text in analyses.items()],
    }


def to_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


def to_csv(data: dict[str, Any]) -> str:
    """The figures as one table: what, which group, level, status, count, share, change."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["avsnitt", "grupp", "nivå", "status", "antal", "andel", "förändring"])
    labels = {entry["key"]: entry["label"] for scale in data["statuses"].values() for entry in scale}

    def rows(section: str, group: str, levels: list[dict[str, Any]]) -> None:
        for level in levels:
            for status, count in level["counts"].items():
                change = level.get("change", {}).get(status, "")
                share = f"{level['shares'][status]:.4f}".replace(".", ",")
                writer.writerow([section, group, level["name"], labels[status], count, share, change])

    rows("totalt", data["organisation"], data["levels"])
    for area in data["malomraden"]:
        rows("målområde", area["name"], area["levels"])
    for body in data["bodies"]:
        rows("organ", body["name"], body["levels"])
    for unit in data["units"]:
        rows("enhet", unit["name"], unit["levels"])
    return buffer.getvalue()
