"""`arshjul wheel`: the årshjul as the region hangs it on the wall, drawn as SVG.

Twelve month sectors start with January at 12 o'clock and run clockwise. Each level of
the organisation that has steps gets a ring: the top level outermost, the lowest level
nearest the hub. That order follows how planning cascades (regionplan → nämnd →
förvaltning → område → enhet) from the rim inwards, and it gives the outer rings, which
have the most room, to the top levels, which have the most distinct steps (reports to
fullmäktige, monthly reports, budget); the lower levels have few distinct steps, each
done by many units at once.

Which year the wheel shows. A cycle for plan year Y runs from planning in Y-1 through
the year itself to the årsredovisning in Y+1, about 28 months; a wall wheel is one
January→December. We fold the whole cycle onto the twelve months: every step sits at
its calendar months whatever its year. Because the cycle repeats every year, this is
exactly what the regionstab sees on the wall in any year: in the autumn units write the
coming year's verksamhetsplaner, in the spring the previous year's årsredovisning is
done. Nothing is hidden and every step of the plan year's cycle appears once. To stay
truthful about the year, steps whose deadline falls outside Y are drawn lighter with a
dashed edge and their label starts with the year ("2026: Regionplan"); the legend says
so. The alternative, a "working year" wheel of everything done during calendar year Y,
mixes three cycles (the årsredovisning for Y-1, Y's follow-up, planning for Y+1) and
cannot be drawn from one cycle's steps.

Dense plans (the region has some 300 step instances). Instances of one step template
(and period) on one ring whose dates overlap become one arc, from the earliest opening to
the latest deadline, with a mark at each deadline and the count in its label
("Enheternas verksamhetsplaner (31)"); most often their dates are simply the same.
Within a ring, arcs and their labels, which may run past a short arc, are packed into
sub-tracks so that nothing overlaps; the wheel grows outwards rather than shrinking its
text. Labels follow the arc, upright on both halves, are shortened with "…" when they
do not fit and repeat along long arcs. Every arc carries a <title> with the full name,
the units and every date, which SVG viewers show as a tooltip.

Geometry: every month gets 30°, as on a printed wheel; a date's position within its
month is proportional to the day. An arc starts at the beginning of its opening day and
ends at the end of its deadline day, so 1 April – 30 June is exactly 90°–180°.

Pure: `render_wheel` reads no clock and no files.

A plan period (`arshjul wheel 2027..2030`, `render_period_wheel`) is one wheel with a
ring per plan year, the first year outermost: the months line up across the years, so a
template that recurs every fourth year or once per mandate period stands out in the
rings of its years, and tentative arcs (resting on meeting plans not yet decided) are
hatched and labelled "(prel.)". The screen overview (`--overview`) folds every template's
units into one counted arc ("Verksamhetsplan enhet (412 enheter)") with shorter labels
and the legend below the wheel, so that it reads at 1,600 px wide.

Modules, each importing only those named before it: `geometry` (angles, paths, text widths),
`layout` (steps → arcs → rings, packed into sub-tracks), `paint` (colours), `drawing`
(the wheel's SVG elements), `legend` (the key beside it), `overview` (one arc per
template, a ring per year) and `sheet` (sizes the page and puts it together:
`render_wheel`, `render_period_wheel`).
"""

from arshjul.views.wheel.geometry import MIN_ARC_DEGREES
from arshjul.views.wheel.sheet import render_period_wheel, render_wheel

__all__ = ["MIN_ARC_DEGREES", "render_period_wheel", "render_wheel"]
