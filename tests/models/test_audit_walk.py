"""The walk's plan from the checkpoints (models.audit_walk), pure: as the app writes
checkpoints (each lists the entries after the one before) and in any other order."""

from __future__ import annotations

import datetime as dt

from models.audit_integrity import Checkpoint, Head
from models.audit_walk import make_plan, walk_part

AT = dt.datetime(2027, 3, 1, 7, tzinfo=dt.UTC)


def _checkpoint(number: int, ids: list[int], last_id: int, count: int) -> Checkpoint:
    shorts = "".join(f"{number:x}{entry_id:015x}" for entry_id in ids)
    return Checkpoint(number, AT, "test", Head(last_id, "h", count), (tuple(ids), shorts))


def test_checkpoints_in_order_give_every_listed_entry_once():
    plan = make_plan([_checkpoint(1, [1, 2, 3], 3, 3), _checkpoint(2, [4, 5], 5, 5)])
    assert list(plan.ids) == [1, 2, 3, 4, 5] and list(plan.numbers) == [1, 1, 1, 2, 2]
    assert plan.shorts[3 * 16 : 4 * 16] == "2000000000000004" and plan.vouched == 5
    assert plan.bounds == (3, 5) and plan.counted == ((3, 1), (5, 2))


def test_an_entry_listed_twice_is_compared_with_the_later_listing():
    plan = make_plan([_checkpoint(1, [1, 2, 3], 3, 3), _checkpoint(2, [5, 2, 4], 5, 5)])
    assert list(plan.ids) == [1, 2, 3, 4, 5] and list(plan.numbers) == [1, 2, 1, 2, 2]
    assert plan.shorts[16:32] == "2000000000000002"


def test_a_part_holds_only_its_range():
    plan = make_plan([_checkpoint(1, [1, 2, 3], 3, 3), _checkpoint(2, [4, 5], 5, 5)])
    part = plan.part(2, 4)
    assert list(part.ids) == [3, 4] and part.shorts == plan.shorts[32:64] and set(part.heads) == {3}
    found = walk_part([], part)
    assert [p.entry_id for p in found.problems] == [3, 4] and all("saknas" in p.message for p in found.problems)
