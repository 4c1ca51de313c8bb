"""Summing up one period's statuses (pure): per goal level, per målområde, per body, per
unit and up the unit tree, per item and up the goal tree; coverage; the change since the
previous period; who has not reported; what must be told early.

The rule per goal level is data (`levels[].rollup` in goals-YYYY.yaml): `count` keeps the
distribution (seed 003's way), `worst` and `threshold` also give each node of that level
one status derived from the goal-scale items below it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from models.followup import Reported
from models.goal_schema import Rule, Scale
from models.goals import NOT_REPORTED, SEVERITY, STATUSES, GoalPlan
from models.organisation import Organisation

RED = {"rod", "forsenad"}


@dataclass
class Distribution:
    """How many items of one level have each status (ej rapporterad included)."""

    scale: Scale
    counts: Counter = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def reported(self) -> int:
        return self.total - self.counts[NOT_REPORTED]

    def statuses(self) -> list[str]:
        return [*STATUSES[self.scale], NOT_REPORTED]

    def count(self, status: str) -> int:
        return self.counts[status]

    def share(self, status: str) -> float:
        return self.counts[status] / self.total if self.total else 0.0


Breakdown = dict[str, Distribution]  # goal level → distribution


@dataclass(frozen=True)
class Change:
    item: str
    before: str
    after: str


@dataclass(frozen=True)
class Warning:
    """An item to tell its body's responsible official about (seed 002 §2.2)."""

    item: str
    reason: str  # "turned_red" or "yellow_twice"
    status: str
    previous: str


@dataclass
class RollUp:
    period: str
    previous_period: str | None
    items: list[str]  # the reported items in scope
    status: dict[str, str]  # item → status (NOT_REPORTED where none)
    previous: dict[str, str] | None
    levels: Breakdown
    previous_levels: Breakdown | None
    malomraden: dict[str, Breakdown]
    bodies: dict[str, Breakdown]
    units: dict[str, Breakdown]  # every unit with items in its subtree
    goal_nodes: dict[str, Breakdown]  # every item with reported items below it
    derived: dict[str, str | None]  # node → status by its level's rule (worst, threshold)
    transitions: dict[str, Counter]  # level → Counter((before, after))
    changes: list[Change]
    not_reported: dict[str, int]  # owner → items without a status
    owned: dict[str, int]  # owner → items

    @property
    def coverage(self) -> float:
        total = len(self.items)
        reported = sum(1 for key in self.items if self.status[key] != NOT_REPORTED)
        return reported / total if total else 0.0


def _add(breakdowns: dict[str, Breakdown], node: str, level: str, scale: Scale, status: str) -> None:
    breakdown = breakdowns.get(node)
    if breakdown is None:
        breakdown = breakdowns[node] = {}
    distribution = breakdown.get(level)
    if distribution is None:
        distribution = breakdown[level] = Distribution(scale)
    distribution.counts[status] += 1


def roll_up(
    plan: GoalPlan,
    organisation: Organisation,
    statuses: dict[str, Reported],
    *,
    period: str,
    previous: dict[str, Reported] | None = None,
    scope: str | None = None,
) -> RollUp:
    """The period's figures for the whole plan, or for the items of `scope` (a unit and
    its subtree, or a body)."""
    keys = plan.in_scope(scope, organisation) if scope else list(plan.reported)
    unit_chains: dict[str, list[str]] = {}
    body_of: dict[str, str | None] = {}
    status: dict[str, str] = {}
    before: dict[str, str] | None = {} if previous is not None else None
    levels: Breakdown = {}
    previous_levels: Breakdown | None = {} if previous is not None else None
    by_area: dict[str, Breakdown] = {}
    by_body: dict[str, Breakdown] = {}
    by_unit: dict[str, Breakdown] = {}
    by_node: dict[str, Breakdown] = {}
    transitions: dict[str, Counter] = {}
    changes: list[Change] = []
    not_reported: Counter = Counter()
    owned: Counter = Counter()
    ancestors = plan.ancestors_of
    for key in keys:
        item = plan.items[key]
        level = item.level
        scale = plan.levels[level].scale
        assert scale is not None
        reported = statuses.get(key)
        now = reported.status if reported is not None else NOT_REPORTED
        status[key] = now
        distribution = levels.get(level) or levels.setdefault(level, Distribution(scale))
        distribution.counts[now] += 1
        owner = item.owner
        owned[owner] += 1
        if now == NOT_REPORTED:
            not_reported[owner] += 1
        area = plan.malomrade_of[key]
        if area is not None:
            _add(by_area, area, level, scale, now)
        body = body_of.get(key)
        if key not in body_of:
            body = body_of[key] = plan.body_of(key, organisation)
        if body is not None:
            _add(by_body, body, level, scale, now)
        if owner in organisation.units:
            chain = unit_chains.get(owner)
            if chain is None:
                chain = unit_chains[owner] = [owner, *organisation.ancestors(owner)]
            for unit in chain:
                _add(by_unit, unit, level, scale, now)
        for node in ancestors[key]:
            _add(by_node, node, level, scale, now)
        if before is not None and previous_levels is not None and previous is not None:
            earlier = previous.get(key)
            was = earlier.status if earlier is not None else NOT_REPORTED
            before[key] = was
            distribution = previous_levels.get(level) or previous_levels.setdefault(level, Distribution(scale))
            distribution.counts[was] += 1
            transitions.setdefault(level, Counter())[(was, now)] += 1
            if was != now:
                changes.append(Change(key, was, now))
    derived = {node: _derived(plan, node, by_node.get(node, {})) for node in plan.items if _has_rule(plan, node)}
    return RollUp(
        period=period,
        previous_period=plan.previous_period(period) if previous is not None else None,
        items=keys,
        status=status,
        previous=before,
        levels=levels,
        previous_levels=previous_levels,
        malomraden=by_area,
        bodies=by_body,
        units=by_unit,
        goal_nodes=by_node,
        derived=derived,
        transitions=transitions,
        changes=changes,
        not_reported=dict(not_reported),
        owned=dict(owned),
    )


def _has_rule(plan: GoalPlan, node: str) -> bool:
    return plan.levels[plan.items[node].level].rollup.rule is not Rule.distribution


def _derived(plan: GoalPlan, node: str, below: Breakdown) -> str | None:
    """One status for `node` by its level's rule, from the goal-scale items below it."""
    rollup = plan.levels[plan.items[node].level].rollup
    counts: Counter = Counter()
    for distribution in below.values():
        if distribution.scale is Scale.mal:
            counts.update({status: n for status, n in distribution.counts.items() if status in ("gron", "gul", "rod")})
    judged = sum(counts.values())
    if not judged:
        return None
    if rollup.rule is Rule.worst:
        return max((status for status, n in counts.items() if n), key=lambda status: SEVERITY[status])
    assert rollup.red_share is not None and rollup.yellow_share is not None
    if counts["rod"] / judged >= rollup.red_share:
        return "rod"
    if (counts["rod"] + counts["gul"]) / judged >= rollup.yellow_share:
        return "gul"
    return "gron"


def derived_distribution(plan: GoalPlan, result: RollUp, level: str) -> Distribution:
    """A level that is not reported itself (RF's övergripande mål) under `worst` or
    `threshold`: how many of its nodes the rule judges grön, gul or röd."""
    distribution = Distribution(Scale.mal)
    for node, status in result.derived.items():
        if plan.items[node].level == level:
            distribution.counts[status or NOT_REPORTED] += 1
    return distribution


def early_warnings(plan: GoalPlan, result: RollUp) -> list[Warning]:
    """Items that turned red this period, or are yellow for the second period running."""
    if result.previous is None:
        return []
    warnings: list[Warning] = []
    for key in result.items:
        now, was = result.status[key], result.previous[key]
        if now in RED and was not in RED:
            warnings.append(Warning(key, "turned_red", now, was))
        elif now == "gul" and was == "gul":
            warnings.append(Warning(key, "yellow_twice", now, was))
    return warnings
