"""The follow-up report: the HTML and the PDF show the figures of the JSON output."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from arshjul.views.documents import html_to_pdf
from arshjul.views.followup_document import render_report
from arshjul.views.followup_report import report_data, to_csv
from models.followup_import import parse_report
from models.rollup import roll_up

FIXTURES = Path(__file__).parent.parent / "fixtures" / "followup"
GENERATED = dt.datetime(2027, 9, 7, 8, tzinfo=dt.UTC)


def seed_003(definition, period: str) -> dict:
    """The report of `period` from seed 003's files, read by the import's own parser."""
    plan = definition.goals[2027]
    statuses = {}
    analyses = {}
    for which in ("T1", "T2"):
        parsed = parse_report(
            f"seed003-{which}.csv", (FIXTURES / f"seed003-{which}.csv").read_bytes(), plan, definition.organisation
        )
        statuses[which] = {entry.item: entry for entry in parsed.reported}
        analyses[which] = {a.target: a.text for a in parsed.analyses}
    previous = statuses["T1"] if period == "T2" else None
    result = roll_up(plan, definition.organisation, statuses[period], period=period, previous=previous)
    return report_data(
        plan,
        definition.organisation,
        definition.templates,
        result,
        statuses[period],
        analyses[period],
        scope=None,
        generated=GENERATED,
    )


@pytest.fixture(scope="module")
def august(region_definition):
    data = seed_003(region_definition, "T2")
    return data, render_report(data)


def summary_figures(html: str) -> dict[str, dict[str, int]]:
    """The summary tables' figures: level → status → count, as the HTML shows them."""
    figures: dict[str, dict[str, int]] = {}
    for level, row in re.findall(r'<tr data-level="(\w+)">(.*?)</tr>', html, flags=re.DOTALL):
        cells = re.findall(r'<td class="number" data-status="(\w+)">(.*?)</td>', row, flags=re.DOTALL)
        figures[level] = {status: int(re.sub(r"<[^>]+>", "", text)) for status, text in cells}
    return figures


def test_the_html_shows_the_json_figures(august):
    data, html = august
    figures = summary_figures(html)
    assert figures == {level["level"]: level["counts"] for level in data["levels"]}
    assert "Av 20 uppdrag var 2 gröna, 15 gula och 3 röda." in html
    assert "Av 58 mätbara mål var 15 gröna, 26 gula, 15 röda och 2 ej mätbara." in html
    assert "Av 63 aktiviteter var 20 planerade, 33 pågående enligt plan, 2 försenade och 8 genomförda." in html
    assert '<strong id="coverage-reported">141</strong> av <strong id="coverage-items">141</strong>' in html
    changes = dict(
        re.findall(
            r'data-level="uppdrag" data-status="(\w+)">.*?<td class="number" data-change>(.*?)</td>',
            html,
            flags=re.DOTALL,
        )
    )
    assert changes == {"gron": "+2", "gul": "−3", "rod": "+1"}
    assert html.count("<svg") == 3


def test_every_red_and_yellow_figure_leads_to_its_items(august):
    data, html = august
    ids = set(re.findall(r' id="([^"]+)"', html))
    links = re.findall(r'<a class="drill s-(\w+)" href="#([^"]+)" data-figure="[^"]+">(\d+)</a>', html)
    assert links, "no drill-down links"
    for _status, target, count in links:
        assert target in ids, target
        section = html[html.index(f'id="{target}"') :]
        section = section[: section.index("</section>")]
        items = re.findall(r'<a href="#(mal-[^"]+)">', section) or re.findall(r'<tr id="(mal-[^"]+)"', section)
        assert len(items) == int(count), target
        assert all(item in ids for item in items)
    # The summary's red uppdrag figure leads to the three red uppdrag with their comments.
    red = html[html.index('id="lista-uppdrag-rod"') :]
    red = red[: red.index("</section>")]
    assert red.count('<tr id="mal-') == 3 and "(RS 31 maj § 90)" in red


def test_the_csv_has_the_same_figures(august):
    data, _html = august
    rows = [line.split(";") for line in to_csv(data).splitlines()[1:]]
    total = {(row[2], row[3]): int(row[4]) for row in rows if row[0] == "totalt"}
    assert total[("Uppdrag", "röd")] == 3 and total[("Mätbara mål", "ej mätbar")] == 2
    assert total[("Aktiviteter", "försenad")] == 2


def test_april_without_a_previous_period(region_definition):
    data = seed_003(region_definition, "T1")
    html = render_report(data)
    assert data["previous_period"] is None and data["early_warning"] == [] and "forandring" not in html
    assert "Av 20 uppdrag var 18 gula och 2 röda." in html
    assert 'id="ej-rapporterat-tabell"' in html  # the 63 activities
    assert "built-in method" not in html and "<tr><td>Kansliavdelningen (samordningskansliet)</td>" in html
    kansli = next(row for row in data["not_reported"] if row["owner"] == "kansliavdelningen")
    assert f'<td class="number">{kansli["missing"]}</td><td class="number">{kansli["owned"]}</td>' in html


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm, pdftotext) is not installed")
def test_the_pdf_pages_show_the_json_figures(august, tmp_path):
    data, html = august
    pdf = tmp_path / "uppfoljning.pdf"
    pdf.write_bytes(html_to_pdf(html))
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(tmp_path / "sida")], check=True)
    pages = sorted(tmp_path.glob("sida-*.png"))
    assert pages and all(page.read_bytes().startswith(b"\x89PNG") for page in pages)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    flat = " ".join(text.split())
    for level in data["levels"]:
        counts = [str(level["counts"][status]) for status in level["counts"]]
        assert f"{level['name']} {level['total']} {' '.join(counts)}" in flat, level["name"]
    assert "Av 58 mätbara mål var 15 gröna, 26 gula, 15 röda och 2 ej mätbara." in flat
    assert f"Sida 1 av {len(pages)}" in flat


def test_the_prefect_artifacts_make_typed_text_inert(august):
    from arshjul.views.followup_markdown import figures_table, summary_markdown
    from arshjul.views.markdown import table_cell

    data, _html = august
    rows = figures_table(data)
    assert {"Nivå": "Uppdrag", "Status": "röd", "Antal": 3, "Andel": "15 %", "Förändring": "+1"} in rows
    hostile = dict(data, attention=[dict(data["attention"][0], comment="![x](https://evil.example/p.png) <b>|</b>")])
    markdown = summary_markdown(hostile)
    assert "![x](https" not in markdown and "<b>" not in markdown
    assert table_cell("![x](https://evil.example/p.png) <b>|</b>") in markdown
    assert "| Uppdrag | 20 | 2 grön, 15 gul, 3 röd |" in summary_markdown(data)
    assert "## Tidig varning" in markdown


def test_every_chart_lists_the_statuses_in_the_scales_order(august):
    """grön, gul, röd, ej mätbar — in the bars and the legend of every chart alike, whatever
    order the items happened to come in (a politician compares the charts side by side)."""
    from arshjul.views.followup_charts import area_charts, level_chart

    data, _html = august
    scale_order = [entry["label"] for scale in data["statuses"].values() for entry in scale]
    for svg in [level_chart(data), *area_charts(data)]:
        legend = [text for text in re.findall(r"<text[^>]*>([^<]+)</text>", svg) if text in scale_order]
        assert legend, "no legend found"
        assert legend == sorted(legend, key=scale_order.index)
