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
    changes: list[str]  # items whose status is not the previous period's
    not_reported: dict[str, int]  # owner → items without a status
    owned: dict[str, int]  # owner → items

    @property
    def coverage(self) -> float:
        total = len(self.items)
        reported = sum(1 for key in self.items if self.status[key] != NOT_REPORTED)
        return reported / total if total else 0.0


def _breakdowns(buckets: Counter, scales: dict[str, Scale]) -> dict[str, Breakdown]:
    """(node, level, status) → count, as node → level → distribution."""
    result: dict[str, Breakdown] = {}
    for (node, level, status), n in buckets.items():
        if node is None:
            continue
        breakdown = result.get(node)
        if breakdown is None:
            breakdown = result[node] = {}
        distribution = breakdown.get(level)
        if distribution is None:
            distribution = breakdown[level] = Distribution(scales[level])
        distribution.counts[status] += n
    return result


def _up(buckets: Counter, chains: dict[str, list[str]]) -> Counter:
    """Each (node, level, status) bucket added to the node and every node above it."""
    total: Counter = Counter()
    for (node, level, status), n in buckets.items():
        for above in chains[node]:
            total[(above, level, status)] += n
    return total


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
    its subtree, or a body's plan).

    Counted in bulk (C-level `Counter` over columns) per owner and per parent item, and
    only then carried up the unit and goal trees: a thousand units and a few thousand
    goals, not every item, walk the trees."""
    keys = plan.in_scope(scope, organisation) if scope else list(plan.reported)
    level_of, owner_of, parent_of = plan.columns
    scales = {key: level.scale for key, level in plan.levels.items() if level.scale is not None}
    levels_ = [level_of[key] for key in keys]
    owners = [owner_of[key] for key in keys]
    now = [reported.status if (reported := statuses.get(key)) is not None else NOT_REPORTED for key in keys]
    status = dict(zip(keys, now, strict=True))
    bodies = plan.bodies_by_item(organisation)
    by_owner = Counter(zip(owners, levels_, now, strict=True))
    by_parent = Counter(zip([parent_of[key] for key in keys], levels_, now, strict=True))
    unit_chains = {
        owner: [owner, *organisation.ancestors(owner)] for owner in set(owners) if owner in organisation.units
    }
    goal_chains = {node: [node, *plan.ancestors_of[node]] for node, _level, _status in by_parent if node is not None}
    units = _up(Counter({bucket: n for bucket, n in by_owner.items() if bucket[0] in unit_chains}), unit_chains)
    nodes = _up(Counter({bucket: n for bucket, n in by_parent.items() if bucket[0] is not None}), goal_chains)
    not_reported: Counter = Counter()
    owned: Counter = Counter()
    for (owner, _level, now_status), n in by_owner.items():
        owned[owner] += n
        if now_status == NOT_REPORTED:
            not_reported[owner] += n
    before: dict[str, str] | None = None
    previous_levels: Breakdown | None = None
    transitions: dict[str, Counter] = {}
    changes: list[str] = []
    if previous is not None:
        was = [reported.status if (reported := previous.get(key)) is not None else NOT_REPORTED for key in keys]
        before = dict(zip(keys, was, strict=True))
        previous_levels = _breakdowns(_level_buckets(levels_, was), scales).get("", {})
        for (level, earlier, later), n in Counter(zip(levels_, was, now, strict=True)).items():
            transitions.setdefault(level, Counter())[(earlier, later)] += n
        changes = [k for k, w, n in zip(keys, was, now, strict=True) if w != n]
    derived_nodes = _breakdowns(nodes, scales)
    ruled = {key for key, level in plan.levels.items() if level.rollup.rule is not Rule.distribution}
    derived = {
        node: _derived(plan, node, derived_nodes.get(node, {})) for node, level in level_of.items() if level in ruled
    }
    return RollUp(
        period=period,
        previous_period=plan.previous_period(period) if previous is not None else None,
        items=keys,
        status=status,
        previous=before,
        levels=_breakdowns(_level_buckets(levels_, now), scales).get("", {}),
        previous_levels=previous_levels,
        malomraden=_breakdowns(Counter(zip([plan.malomrade_of[k] for k in keys], levels_, now, strict=True)), scales),
        bodies=_breakdowns(Counter(zip([bodies[k] for k in keys], levels_, now, strict=True)), scales),
        units=_breakdowns(units, scales),
        goal_nodes=derived_nodes,
        derived=derived,
        transitions=transitions,
        changes=changes,
        not_reported={owner: n for owner, n in not_reported.items()},
        owned=dict(owned),
    )


def _level_buckets(levels: list[str], statuses: list[str]) -> Counter:
    return Counter(
        {("", level, status): n for (level, status), n in Counter(zip(levels, statuses, strict=True)).items()}
    )


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
