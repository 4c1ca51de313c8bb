"""The wall wheel (`arshjul wheel`): the SVG is parsed and its geometry checked, so the
tests hold for what a viewer would draw, not for how the code is written."""

from __future__ import annotations

import datetime as dt
import math
import re
import xml.etree.ElementTree as ET

import pytest
from typer.testing import CliRunner

from arshjul.cli import app
from arshjul.views.wheel import MIN_ARC_DEGREES, render_wheel
from models.planned import PlannedStep
from models.planning import plan_cycle
from models.validation import load_definition
from tests.conftest import SMALL_ORG

D = dt.date

SVG = "{http://www.w3.org/2000/svg}"
SWEDISH_MONTHS = [
    "Januari",
    "Februari",
    "Mars",
    "April",
    "Maj",
    "Juni",
    "Juli",
    "Augusti",
    "September",
    "Oktober",
    "November",
    "December",
]


@pytest.fixture(scope="module")
def small():
    return load_definition(SMALL_ORG)


@pytest.fixture(scope="module")
def small_plan(small):
    return plan_cycle(small, 2027)


def make_step(
    name: str,
    opens: dt.date,
    due: dt.date,
    *,
    level: str = "region",
    unit: str = "region",
    unit_name: str = "Lilla regionen",
    process: str = "planering",
    step: str | None = None,
    period: str | None = None,
) -> PlannedStep:
    step = step or re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "steg"
    return PlannedStep(
        year=2027,
        key=f"{step}:{unit}",
        step=step,
        period=period,
        name=name,
        kind="plan",
        process=process,
        level=level,
        unit=unit,
        unit_name=unit_name,
        owner_role="ekonomidirektor",
        owner="erik.ekonom",
        decided_by=None,
        decided_by_kind=None,
        decider=None,
        meeting=None,
        opens=opens,
        due=due,
        nominal_due=None,
    )


# -- reading the SVG back -------------------------------------------------------------------


class Wheel:
    """A parsed wheel with the geometry helpers the tests need."""

    def __init__(self, svg: str):
        self.svg = svg
        self.root = ET.fromstring(svg)
        hub = self.root.find(f".//{SVG}g[@class='hub']/{SVG}circle")
        self.cx, self.cy = float(hub.get("cx")), float(hub.get("cy"))
        self.paths = {path.get("id"): path.get("d") for path in self.root.iter(f"{SVG}path") if path.get("id")}

    def groups(self, css_class: str) -> list[ET.Element]:
        return [g for g in self.root.iter(f"{SVG}g") if css_class in (g.get("class") or "").split()]

    def angle(self, x: float, y: float) -> float:
        """Degrees clockwise from 12 o'clock."""
        return math.degrees(math.atan2(x - self.cx, self.cy - y)) % 360

    def radius(self, x: float, y: float) -> float:
        return math.hypot(x - self.cx, y - self.cy)

    def sector(self, path: ET.Element) -> dict:
        """Start and end angle, radii and span of a ring segment drawn by the wheel."""
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path.get("d"))]
        start = numbers[0:2]
        outer_radius, large_arc, end = numbers[2], numbers[5], numbers[7:9]
        inner_point = numbers[9:11]
        start_angle, end_angle = self.angle(*start), self.angle(*end)
        span = (end_angle - start_angle) % 360
        if large_arc and span < 180:  # a nearly full turn that lands near its start
            span += 360
        return {
            "start": start_angle,
            "end": end_angle,
            "span": span,
            "large_arc": bool(large_arc),
            "outer": outer_radius,
            "inner": self.radius(*inner_point),
        }

    def arcs(self, within: ET.Element | None = None) -> list[ET.Element]:
        return [
            g
            for g in (within if within is not None else self.root).iter(f"{SVG}g")
            if "step" in (g.get("class") or "").split()
        ]

    def arc_sector(self, group: ET.Element) -> dict:
        return self.sector(group.find(f"{SVG}path[@class='arc']"))

    def label(self, group: ET.Element) -> str:
        text_path = group.find(f".//{SVG}textPath")
        return text_path.text if text_path is not None else ""

    def title(self, group: ET.Element) -> str:
        return group.find(f"{SVG}title").text

    def arc_titled(self, fragment: str) -> ET.Element:
        found = [g for g in self.arcs() if fragment in self.title(g)]
        assert len(found) == 1, f"{len(found)} arcs titled with {fragment!r}"
        return found[0]


MID_MARCH = D(2027, 3, 15)


def draw(steps, definition, *, year=2027, today=MID_MARCH, subtitle=None) -> Wheel:
    return Wheel(render_wheel(steps, definition, year=year, today=today, subtitle=subtitle))


def close_to(angle: float, expected: float, tolerance: float = 0.2) -> bool:
    return abs((angle - expected + 180) % 360 - 180) <= tolerance


# -- the wheel's frame ----------------------------------------------------------------------


def test_twelve_month_sectors_from_january_at_noon_clockwise(small, small_plan):
    wheel = draw(small_plan, small)
    months = wheel.groups("month")
    assert [month.get("data-month") for month in months] == [str(m) for m in range(1, 13)]
    assert [wheel.label(month) for month in months] == SWEDISH_MONTHS
    for index, month in enumerate(months):
        sector = wheel.sector(month.find(f"{SVG}path[@class='month-sector']"))
        assert close_to(sector["start"], 30 * index) and close_to(sector["span"], 30)


def test_title_viewbox_and_font(small, small_plan):
    wheel = draw(small_plan, small)
    root = wheel.root
    assert re.fullmatch(r"0 0 \d+ \d+", root.get("viewBox"))
    assert root.get("font-family") == "system-ui, sans-serif"
    assert root.find(f"{SVG}title").text == "Årshjul 2027 – Lilla regionen"
    assert wheel.groups("header")[0].find(f"{SVG}text").text == "Årshjul 2027 – Lilla regionen"


def test_one_ring_per_level_with_steps_top_level_outermost(small, small_plan):
    wheel = draw(small_plan, small)
    rings = wheel.groups("ring")
    assert [ring.get("data-level") for ring in rings] == ["region", "namnd", "forvaltning", "omrade", "enhet"]
    assert [ring.get("data-name") for ring in rings] == ["Region", "Nämnd/styrelse", "Förvaltning", "Område", "Enhet"]
    inner_radii = [min(wheel.arc_sector(arc)["inner"] for arc in wheel.arcs(within=ring)) for ring in rings]
    assert inner_radii == sorted(inner_radii, reverse=True)

    only_two_levels = [
        make_step("Regionplan", D(2026, 1, 12), D(2026, 6, 2)),
        make_step("Enhetens plan", D(2026, 10, 1), D(2026, 12, 23), level="enhet", unit="enh_a1", unit_name="Enhet A1"),
    ]
    assert [ring.get("data-level") for ring in draw(only_two_levels, small).groups("ring")] == ["region", "enhet"]


def test_every_arc_has_a_tooltip_with_name_unit_and_dates(small, small_plan):
    wheel = draw(small_plan, small)
    arcs = wheel.arcs()
    # The small plan: 15 instances; the two områden, and the two enheter, share step and dates three times.
    assert len(arcs) == 12
    regionplan = wheel.arc_titled("Regionplan")
    title = wheel.title(regionplan)
    assert "Lilla regionen" in title and "2026-01-12" in title and "2026-06-02" in title
    assert "2026-06-16" in title  # the RF meeting that decides it


# -- positions ----------------------------------------------------------------------------


def test_arc_runs_from_opening_day_to_end_of_deadline_day(small):
    wheel = draw([make_step("Andra kvartalet", D(2027, 4, 1), D(2027, 6, 30))], small)
    sector = wheel.arc_sector(wheel.arcs()[0])
    assert close_to(sector["start"], 90) and close_to(sector["end"], 180)
    assert sector["span"] == pytest.approx(90, abs=0.2)


def test_arc_crossing_the_new_year_wraps_through_january(small):
    wheel = draw([make_step("Över nyår", D(2026, 12, 1), D(2027, 1, 31))], small)
    sector = wheel.arc_sector(wheel.arcs()[0])
    assert close_to(sector["start"], 330) and close_to(sector["end"], 30)
    assert sector["span"] == pytest.approx(60, abs=0.2) and not sector["large_arc"]


def test_step_that_opens_on_its_deadline_still_shows(small):
    wheel = draw([make_step("Beslutsdag", D(2027, 3, 16), D(2027, 3, 16))], small)
    sector = wheel.arc_sector(wheel.arcs()[0])
    assert sector["span"] == pytest.approx(MIN_ARC_DEGREES, abs=0.05)
    assert close_to((sector["start"] + sector["span"] / 2) % 360, 60 + 30 * 15.5 / 31)


def test_step_longer_than_a_year_is_almost_a_full_ring(small):
    wheel = draw([make_step("Långt projekt", D(2026, 3, 1), D(2027, 6, 30))], small)
    assert wheel.arc_sector(wheel.arcs()[0])["span"] > 359


def test_today_is_marked_at_its_angle_with_its_date(small, small_plan):
    wheel = draw(small_plan, small, today=D(2027, 7, 1))
    [today] = wheel.groups("today")
    line = today.find(f"{SVG}line")
    inner = (float(line.get("x1")), float(line.get("y1")))
    outer = (float(line.get("x2")), float(line.get("y2")))
    expected = 180 + 30 * 0.5 / 31  # the middle of 1 July
    assert close_to(wheel.angle(*inner), expected, 0.05) and close_to(wheel.angle(*outer), expected, 0.05)
    assert wheel.radius(*outer) > max(wheel.arc_sector(arc)["outer"] for arc in wheel.arcs())
    assert "1 juli 2027" in "".join(today.itertext())


def test_no_marker_without_today(small, small_plan):
    assert draw(small_plan, small, today=None).groups("today") == []


# -- many steps -------------------------------------------------------------------------


def units(count: int) -> list[tuple[str, str]]:
    return [(f"enh_{n}", f"Enhet {n}") for n in range(1, count + 1)]


def test_instances_with_the_same_step_and_dates_become_one_counted_arc(small):
    steps = [
        make_step(
            "Enhetens verksamhetsplan",
            D(2026, 10, 1),
            D(2026, 12, 23),
            level="enhet",
            unit=key,
            unit_name=name,
            step="enhet_vp",
        )
        for key, name in units(27)
    ]
    wheel = draw(steps, small)
    [arc] = wheel.arcs()
    assert arc.get("data-count") == "27"
    assert wheel.label(arc).endswith("(27)")
    title = wheel.title(arc)
    assert all(f"Enhet {n}" in title for n in range(1, 28))
    assert "2026-10-01" in title and "2026-12-23" in title


def test_overlapping_instances_of_a_step_share_an_arc_with_each_deadline_marked(small):
    steps = [
        make_step(
            "Nämndens plan",
            D(2026, 8, 17),
            D(2026, 11, day),
            level="namnd",
            unit=f"n{day}",
            unit_name=f"Nämnd {day}",
            step="namnd_vp",
        )
        for day in (2, 5, 9)
    ]
    wheel = draw(steps, small)
    [arc] = wheel.arcs()
    assert len(arc.findall(f"{SVG}line[@class='deadline']")) == 3
    sector = wheel.arc_sector(arc)
    assert close_to(sector["start"], date_degrees(D(2026, 8, 17))) and close_to(
        sector["end"], date_degrees(D(2026, 11, 10))
    )
    for day in (2, 5, 9):
        assert f"deadline 2026-11-{day:02d}: Nämnd {day}" in wheel.title(arc)


def date_degrees(day: dt.date) -> float:
    days = (D(day.year + day.month // 12, day.month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return 30 * (day.month - 1) + 30 * (day.day - 1) / days


def test_same_step_at_different_times_names_its_unit(small):
    steps = [
        make_step(
            "Nämndens plan",
            D(2027, 2, 1),
            D(2027, 2, 20),
            level="namnd",
            unit="rs",
            unit_name="Regionstyrelsen",
            step="plan",
        ),
        make_step(
            "Nämndens plan",
            D(2027, 9, 1),
            D(2027, 9, 20),
            level="namnd",
            unit="kn",
            unit_name="Kulturnämnden",
            step="plan",
        ),
    ]
    wheel = draw(steps, small)
    labels = sorted(wheel.label(arc) for arc in wheel.arcs())
    # RS has a short name in the small organisation; the other body is not in it at all.
    assert labels == ["Nämndens plan – Kulturnämnden", "Nämndens plan – RS"]


def test_overlapping_arcs_in_a_ring_go_on_separate_tracks(small):
    steps = [
        make_step(f"Steg {n}", D(2027, 3, 1) + dt.timedelta(days=5 * n), D(2027, 5, 1) + dt.timedelta(days=5 * n))
        for n in range(6)
    ] + [make_step("Kort steg", D(2027, 9, 1), D(2027, 9, 2))]
    wheel = draw(steps, small)
    sectors = [wheel.arc_sector(arc) for arc in wheel.arcs()]
    stacked = [wheel.arc_sector(arc) for arc in wheel.arcs() if wheel.title(arc).startswith("Steg")]
    assert len({round(sector["inner"]) for sector in stacked}) == 6
    for first in sectors:
        for second in sectors:
            if first is not second and round(first["inner"]) == round(second["inner"]):
                assert not overlapping(first, second)


def overlapping(a: dict, b: dict) -> bool:
    return any(
        a["start"] < b["start"] + b["span"] + shift and b["start"] + shift < a["start"] + a["span"]
        for shift in (-360, 0, 360)
    )


def test_a_region_sized_plan_stays_in_one_wheel_without_overlaps(small):
    """~300 instances as in the real region: grouped to a few dozen arcs, none overlapping."""
    steps = []
    for month in range(1, 13):
        steps.append(
            make_step(
                f"Månadsrapport {month}",
                D(2027, month, 1),
                D(2027, month, 12),
                step="manad",
                period=f"2027-{month:02d}",
                process="uppfoljning",
            )
        )
    for template, (opens, due) in {
        "vp": (D(2026, 10, 1), D(2026, 12, 23)),
        "tertial": (D(2027, 4, 26), D(2027, 5, 7)),
        "delar": (D(2027, 8, 17), D(2027, 8, 31)),
        "arsb": (D(2027, 12, 1), D(2028, 1, 15)),
        "samtal": (D(2027, 2, 1), D(2027, 4, 30)),
        "enkat": (D(2027, 9, 15), D(2027, 10, 31)),
    }.items():
        for key, name in units(45):
            steps.append(
                make_step(f"Enhetens {template}", opens, due, level="enhet", unit=key, unit_name=name, step=template)
            )
    wheel = draw(steps, small)
    assert len(steps) == 282
    assert len(wheel.arcs()) == 18
    sectors = [wheel.arc_sector(arc) for arc in wheel.arcs()]
    for first in sectors:
        for second in sectors:
            if first is not second and round(first["inner"]) == round(second["inner"]):
                assert not overlapping(first, second)


def test_long_labels_are_shortened_but_the_tooltip_keeps_the_whole_name(small):
    name = "Uppföljning av regionens strategiska mål, nyckeltal och handlingsplaner för hållbar utveckling"
    wheel = draw([make_step(name, D(2027, 3, 1), D(2027, 3, 10))], small)
    [arc] = wheel.arcs()
    assert wheel.label(arc).endswith("…") and len(wheel.label(arc)) < len(name)
    assert wheel.title(arc).startswith(name)


def test_a_long_arc_repeats_its_label(small):
    wheel = draw([make_step("Översyn av policyer", D(2027, 2, 1), D(2027, 10, 27))], small)
    [arc] = wheel.arcs()
    labels = arc.findall(f".//{SVG}textPath")
    assert len(labels) >= 2 and {label.text for label in labels} == {"Översyn av policyer"}


# -- years of the cycle -------------------------------------------------------------------


def test_steps_outside_the_plan_year_are_dashed_and_carry_their_year(small, small_plan):
    wheel = draw(small_plan, small)
    regionplan = wheel.arc_titled("Regionplan")
    arsredovisning = wheel.arc_titled("Årsredovisning")
    tertial = wheel.arc_titled("Tertialrapport per april (förvaltning)")
    for arc, year in ((regionplan, "2026"), (arsredovisning, "2028")):
        assert "other-year" in arc.get("class")
        assert arc.find(f"{SVG}path[@class='arc']").get("stroke-dasharray")
        assert wheel.label(arc).startswith(f"{year}: ")
    assert "other-year" not in tertial.get("class")
    assert tertial.find(f"{SVG}path[@class='arc']").get("stroke-dasharray") is None
    legend = "".join(wheel.groups("legend")[0].itertext())
    assert "2026 och 2028" in legend


def test_recurring_steps_are_labelled_by_their_period_briefly(small, small_plan):
    wheel = draw(small_plan, small)
    labels = {wheel.label(arc) for arc in wheel.arcs()}
    assert {"Månadsrapport per feb", "Månadsrapport per maj"} <= labels


# -- legend -----------------------------------------------------------------------------


def test_legend_lists_the_processes_used_and_the_rings(small):
    steps = [
        make_step("Uppföljning", D(2027, 5, 3), D(2027, 5, 14), process="uppfoljning"),
        make_step(
            "Enhetens rapport",
            D(2027, 5, 3),
            D(2027, 5, 14),
            process="uppfoljning",
            level="enhet",
            unit="enh_a1",
            unit_name="Enhet A1",
        ),
    ]
    wheel = draw(steps, small)
    processes = wheel.groups("legend-process")
    assert [entry.get("data-process") for entry in processes] == ["uppfoljning"]
    assert "".join(processes[0].itertext()).strip() == "Uppföljning"
    assert processes[0].get("data-colour").lower() == "#e69f00"
    assert [entry.get("data-level") for entry in wheel.groups("legend-ring")] == ["region", "enhet"]
    assert ["".join(entry.itertext()).strip() for entry in wheel.groups("legend-ring")] == ["Region", "Enhet"]


def test_arcs_are_painted_like_their_process_in_the_legend(small, small_plan):
    wheel = draw(small_plan, small)
    swatches = {entry.get("data-process"): entry.find(f"{SVG}rect") for entry in wheel.groups("legend-process")}
    assert swatches["planering"].get("stroke") == "#0072b2"  # dark enough to be used as it is
    assert swatches["planering"].get("stroke") != swatches["uppfoljning"].get("stroke")
    for arc in wheel.arcs():
        path = arc.find(f"{SVG}path[@class='arc']")
        swatch = swatches[arc.get("data-process")]
        assert path.get("stroke") == swatch.get("stroke")
        if "other-year" not in arc.get("class"):
            assert path.get("fill") == swatch.get("fill")


# -- text and purity ----------------------------------------------------------------------


def test_special_characters_are_escaped(small):
    name = "Rapport <utkast> & bilagor för Åre–Östersund"
    wheel_svg = render_wheel(
        [make_step(name, D(2027, 1, 1), D(2027, 12, 31), unit_name='Enhet "Ö" & <co>')],
        small,
        year=2027,
        today=D(2027, 3, 15),
        subtitle="Område <A> & B",
    )
    assert "&amp;" in wheel_svg and "&lt;utkast&gt;" in wheel_svg and "<utkast>" not in wheel_svg
    wheel = Wheel(wheel_svg)
    [arc] = wheel.arcs()
    assert wheel.title(arc).startswith(name)
    assert 'Enhet "Ö" & <co>' in wheel.title(arc)
    assert wheel.root.find(f"{SVG}title").text == "Årshjul 2027 – Lilla regionen – Område <A> & B"


def test_rendering_is_deterministic(small, small_plan):
    first = render_wheel(small_plan, small, year=2027, today=D(2027, 3, 15))
    assert first == render_wheel(list(small_plan), small, year=2027, today=D(2027, 3, 15))


def test_an_empty_plan_still_draws_the_year(small):
    wheel = draw([], small)
    assert len(wheel.groups("month")) == 12 and wheel.groups("ring") == [] and wheel.arcs() == []
    assert "Inga steg" in "".join(wheel.groups("hub")[0].itertext())


# -- the command ----------------------------------------------------------------------------


def test_cli_narrowed_to_a_unit(tmp_path):
    out = tmp_path / "hjul.svg"
    result = CliRunner().invoke(
        app, ["wheel", "2027", "--org", str(SMALL_ORG), "--unit", "omr_a", "--today", "2027-05-10", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    wheel = Wheel(out.read_text(encoding="utf-8"))
    assert wheel.root.find(f"{SVG}title").text == "Årshjul 2027 – Lilla regionen – Område A"
    assert "Område A" in [text.text for text in wheel.groups("header")[0].iter(f"{SVG}text")]
    assert [ring.get("data-level") for ring in wheel.groups("ring")] == ["omrade", "enhet"]
    titles = "\n".join(wheel.title(arc) for arc in wheel.arcs())
    assert "Område A" in titles and "Enhet A1" in titles
    assert "Område B" not in titles and "Enhet B1" not in titles and "Lilla regionen" not in titles
    assert wheel.groups("today")[0].get("data-date") == "2027-05-10"


def test_cli_whole_organisation(tmp_path):
    out = tmp_path / "hjul.svg"
    result = CliRunner().invoke(app, ["wheel", "2027", "--org", str(SMALL_ORG), "--out", str(out)])
    assert result.exit_code == 0, result.output
    wheel = Wheel(out.read_text(encoding="utf-8"))
    assert sum(int(arc.get("data-count")) for arc in wheel.arcs()) == 15
