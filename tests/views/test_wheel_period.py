"""The wheel over a plan period (`arshjul wheel 2027..2030`: a ring per plan year) and the
screen overview (`--overview`: one arc per template, legible at 1,600 px wide), for the
region's folder and the kommun fixture. The SVG is parsed and measured, as a viewer
would draw it."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arshjul.cli import app
from arshjul.core.settings import DEFAULT_ORGANISATION
from arshjul.views.wheel import render_period_wheel, render_wheel
from arshjul.views.wheel.geometry import text_width
from arshjul.views.wheel.overview import period_key
from models.planning import plan_cycle
from models.validation import load_definition
from tests.views.test_wheel import MID_MARCH, SVG, Wheel

KOMMUN = Path(__file__).parents[1] / "fixtures" / "kommun"
PERIOD = (2027, 2028, 2029, 2030)
SCREEN = 1600.0
LEGIBLE_PX = 11.0


@pytest.fixture(scope="module")
def definitions():
    return {"region": load_definition(DEFAULT_ORGANISATION), "kommun": load_definition(KOMMUN)}


@pytest.fixture(scope="module")
def plans(definitions):
    return {name: {year: plan_cycle(d, year) for year in PERIOD} for name, d in definitions.items()}


def period_wheel(definitions, plans, org: str, *, overview: bool = False) -> Wheel:
    return Wheel(render_period_wheel(plans[org], definitions[org], today=MID_MARCH, overview=overview))


def rings(wheel: Wheel) -> list[ET.Element]:
    return wheel.groups("ring")


def ring_of(wheel: Wheel, key: str) -> ET.Element:
    [ring] = [g for g in rings(wheel) if g.get("data-level") == key]
    return ring


def ring_radius(ring: ET.Element) -> float:
    return float(ring.find(f"{SVG}circle").get("r"))


# -- a ring per plan year ---------------------------------------------------------------------


@pytest.mark.parametrize("org", ["region", "kommun"])
def test_a_ring_per_plan_year_the_first_year_outermost(definitions, plans, org):
    wheel = period_wheel(definitions, plans, org)
    keys = [ring.get("data-level") for ring in rings(wheel)]
    assert keys == [str(year) for year in PERIOD]
    radii = [ring_radius(ring_of(wheel, str(year))) for year in PERIOD]
    assert radii == sorted(radii, reverse=True)
    # Each ring holds its own cycle's steps: the counts add up to the plans'.
    for year in PERIOD:
        drawn = sum(int(arc.get("data-count")) for arc in wheel.arcs(ring_of(wheel, str(year))))
        assert drawn == len(plans[org][year])


# (template, the plan years of 2027–2030 it is in): every fourth year from 2027; once per
# mandate period, in its second year (the periods are 2023–2026 and 2027–2030).
RECURRING = [
    ("lup_revision", [2027]),
    ("policyoversyn", [2028]),
    ("manadsuppfoljning", [2027, 2028, 2029, 2030]),
]


@pytest.mark.parametrize(("template", "years"), RECURRING)
def test_templates_that_recur_over_the_years_appear_only_in_their_years(definitions, plans, template, years):
    wheel = period_wheel(definitions, plans, "kommun")
    found = sorted(
        {
            int(ring.get("data-level"))
            for ring in rings(wheel)
            for arc in wheel.arcs(ring)
            if arc.get("data-step") == template
        }
    )
    assert found == years


@pytest.mark.parametrize(
    ("org", "year", "tentative"),
    [("kommun", 2027, False), ("kommun", 2030, True), ("region", 2027, False), ("region", 2030, True)],
)
def test_tentative_arcs_are_hatched_and_say_prel(definitions, plans, org, year, tentative):
    """2027 rests on decided meeting plans; 2030 on the bodies' standing rhythms only."""
    wheel = period_wheel(definitions, plans, org)
    arcs = wheel.arcs(ring_of(wheel, str(year)))
    expected = {
        arc.get("data-step")
        for arc in arcs
        if any(s.tentative for s in plans[org][year] if s.step == arc.get("data-step"))
    }
    marked = {arc.get("data-step") for arc in arcs if "tentative" in arc.get("class").split()}
    assert bool(marked) == tentative
    assert marked <= expected
    for arc in arcs:
        if "tentative" in arc.get("class").split():
            assert arc.find(f"{SVG}path[@class='hatch']") is not None
            assert "prel." in wheel.label(arc)
            assert "Preliminärt" in wheel.title(arc)
    # A ring all of whose steps are tentative says so in its name.
    all_tentative = all(s.tentative for s in plans[org][year])
    assert ("(preliminärt)" in ring_of(wheel, str(year)).get("data-name")) == all_tentative


# -- the screen overview -----------------------------------------------------------------------

OVERVIEWS = [("region", None), ("region", PERIOD), ("kommun", None), ("kommun", PERIOD)]


def overview(definitions, plans, org, years) -> Wheel:
    if years is None:
        return Wheel(render_wheel(plans[org][2027], definitions[org], year=2027, today=MID_MARCH, overview=True))
    return period_wheel(definitions, plans, org, overview=True)


def screen_scale(wheel: Wheel) -> float:
    """Screen pixels per SVG unit when the sheet is shown 1,600 px wide."""
    view_width = float(wheel.root.get("viewBox").split()[2])
    assert float(wheel.root.get("width")) == SCREEN
    return SCREEN / view_width


def text_scale(element_path: list[ET.Element]) -> float:
    scale = 1.0
    for node in element_path:
        found = re.search(r"scale\(([\d.]+)\)", node.get("transform") or "")
        if found:
            scale *= float(found.group(1))
    return scale


def texts_with_scale(root: ET.Element):
    """(text element, its font size in SVG units after the transforms around it)."""

    def walk(node, path):
        for child in node:
            if child.tag == f"{SVG}text":
                yield child, float(child.get("font-size")) * text_scale([*path, node])
            else:
                yield from walk(child, [*path, node])

    yield from walk(root, [])


@pytest.mark.parametrize(("org", "years"), OVERVIEWS)
def test_the_overview_is_legible_at_1600_px(definitions, plans, org, years):
    wheel = overview(definitions, plans, org, years)
    scale = screen_scale(wheel)
    sizes = [
        (size * scale, "".join(text.itertext()))
        for text, size in texts_with_scale(wheel.root)
        if "".join(text.itertext()).strip()
    ]
    too_small = [(round(px, 1), text) for px, text in sizes if px < LEGIBLE_PX]
    assert not too_small, too_small[:5]
    assert all(wheel.label(arc) for arc in wheel.arcs())  # every arc is named on the screen


def label_extents(wheel: Wheel) -> list[tuple[float, float, float, str]]:
    """(radius, start, end, text) of every label, as drawn: centred on its text path."""
    found = []
    for arc in wheel.arcs():
        for text in arc.iter(f"{SVG}text"):
            if text.get("class") != "label":
                continue
            on_path = text.find(f"{SVG}textPath")
            numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", wheel.paths[on_path.get("href")[1:]])]
            (x1, y1), (x2, y2) = numbers[0:2], numbers[7:9]
            radius = round(numbers[2])
            a1, a2 = wheel.angle(x1, y1), wheel.angle(x2, y2)
            middle = (a1 + ((a2 - a1) % 360) / 2) % 360
            if ((a2 - a1) % 360) > 180:  # a reversed path runs the other way
                middle = (middle + 180) % 360
            half = math.degrees(text_width(on_path.text, float(text.get("font-size"))) / radius) / 2
            found.append((radius, middle - half, middle + half, on_path.text))
    return found


@pytest.mark.parametrize(("org", "years"), OVERVIEWS)
def test_no_labels_overlap_in_the_overview(definitions, plans, org, years):
    wheel = overview(definitions, plans, org, years)
    labels = label_extents(wheel)
    assert len(labels) >= len(wheel.arcs())
    for index, (radius, start, end, text) in enumerate(labels):
        for other_radius, other_start, other_end, other_text in labels[index + 1 :]:
            if abs(radius - other_radius) > 3:  # another track: a track is wider than the text is tall
                continue
            for shift in (-360, 0, 360):
                assert not (start < other_end + shift and other_start + shift < end), (text, other_text)


@pytest.mark.parametrize(("org", "years"), OVERVIEWS)
def test_the_overview_has_one_arc_per_template_and_period(definitions, plans, org, years):
    wheel = overview(definitions, plans, org, years)
    chosen = {2027: plans[org][2027]} if years is None else plans[org]
    templates = {(s.step, period_key(s.period, year)) for year, steps in chosen.items() for s in steps}
    assert len(wheel.arcs()) == len(templates)


def test_the_overview_folds_units_into_a_count(definitions, plans):
    wheel = overview(definitions, plans, "region", None)
    [arc] = [arc for arc in wheel.arcs() if wheel.title(arc).startswith("Enheternas verksamhetsplaner")]
    units = {s.unit for s in plans["region"][2027] if s.name.startswith("Enheternas verksamhetsplaner")}
    assert f"({len(units)} enheter)" in wheel.label(arc)
    assert f"Gäller {len(units)} enheter" in wheel.title(arc)


@pytest.mark.parametrize(
    ("template", "note"), [("lup_revision", "(2027)"), ("policyoversyn", "(2028)"), ("manadsuppfoljning", None)]
)
def test_the_period_overview_names_the_years_of_a_template_that_does_not_recur_yearly(
    definitions, plans, template, note
):
    wheel = overview(definitions, plans, "kommun", PERIOD)
    labels = [wheel.label(arc) for arc in wheel.arcs() if arc.get("data-step") == template]
    assert labels
    for label in labels:
        if note is None:
            assert not re.search(r"\b20\d\d\b", label), label
        else:
            assert label.endswith(note), label


# -- the command -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["2027..2030"], "Skrev årshjulet 2027–2030"),
        (["2027..2030", "--overview"], "Skrev översikten 2027–2030"),
        (["2027", "--overview"], "Skrev översikten 2027"),
    ],
)
def test_cli_draws_a_period_and_the_overview(tmp_path, args, message):
    out = tmp_path / "hjul.svg"
    result = CliRunner().invoke(app, ["wheel", *args, "--org", str(KOMMUN), "--out", str(out), "--today", "2027-03-15"])
    assert result.exit_code == 0, result.output
    assert message in " ".join(result.output.split())
    assert ET.fromstring(out.read_text()).tag == f"{SVG}svg"


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ("2030..2027", "intervallet slutar före det börjar"),
        ("2027..2045", "högst tio år i taget"),
        ("tjugo", "ogiltigt planår"),
    ],
)
def test_cli_refuses_a_bad_period_in_swedish(tmp_path, period, message):
    out = tmp_path / "hjul.svg"
    result = CliRunner().invoke(app, ["wheel", period, "--org", str(KOMMUN), "--out", str(out)])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not out.exists()
