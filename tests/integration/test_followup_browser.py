"""The follow-up report in Debian's chromium: it renders, its figures are the JSON's, and a
red figure leads the reader down to the items behind it."""

from __future__ import annotations

import pytest

from arshjul.views.followup_document import render_report
from tests.integration.test_browser import CHROMIUM, CHROMIUM_ARGS, ensure_chromium
from tests.views.test_followup_report import seed_003

pytestmark = [pytest.mark.browser]


def test_the_report_in_a_browser(region_definition, tmp_path):
    ensure_chromium()
    from playwright.sync_api import sync_playwright

    data = seed_003(region_definition, "T2")
    page_file = tmp_path / "uppfoljning.html"
    page_file.write_text(render_report(data), encoding="utf-8")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            page.goto(page_file.as_uri())
            assert page.title() == "Uppföljning Delår (per augusti) 2027 – Region Jämtland Härjedalen"
            page.screenshot(path=str(tmp_path / "uppfoljning.png"), full_page=True)
            for level in data["levels"]:
                row = page.locator(f'tr[data-level="{level["level"]}"]').first
                shown = {
                    status: int(row.locator(f'td[data-status="{status}"]').inner_text()) for status in level["counts"]
                }
                assert shown == level["counts"]
                assert int(row.locator("td[data-total]").inner_text()) == level["total"]
            # Every chart is drawn with a size.
            for chart in page.locator("figure svg").all():
                box = chart.bounding_box()
                assert box is not None and box["width"] > 300 and box["height"] > 80
            # From the red uppdrag figure down to the fastighetsplan, then up its path.
            page.locator('tr[data-level="uppdrag"] td[data-status="rod"] a').click()
            assert page.url.endswith("#lista-uppdrag-rod")
            target = page.locator("#mal-u-fastighetsplan")
            assert target.is_visible() and "RS 31 maj § 90" in target.inner_text()
            target.get_by_role("link", name="Ekonomi i balans genom god styrning och uppföljning").click()
            assert page.url.endswith("#rad-mal-om-ekonomi") and page.locator("#rad-mal-om-ekonomi").is_visible()
            # The unit tree: a red figure of a unit leads to its delayed activity.
            page.locator('a[href="#enhet-omrade-medicin-rehab-aktivitet-forsenad"]').click()
            listed = page.locator("#enhet-omrade-medicin-rehab-aktivitet-forsenad")
            assert listed.is_visible() and "Avveckla inhyrda sjuksköterskor" in listed.inner_text()
        finally:
            browser.close()
    assert (tmp_path / "uppfoljning.png").stat().st_size > 50_000
