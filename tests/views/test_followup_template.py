"""The follow-up spreadsheet shows what people typed as text: a comment that begins with
`=` is never a formula in another unit's workbook (it could link out or compute)."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from arshjul.views.followup_template import to_xlsx

TYPED = '=HYPERLINK("http://example.invalid/","Klicka här")'


def test_typed_text_is_a_string_in_the_workbook_never_a_formula():
    rows = [["nyckel", "kommentar"], ["m_1", TYPED], ["m_2", "+46 70 123"], ["m_3", "Vanlig text"]]
    workbook = load_workbook(io.BytesIO(to_xlsx(rows, title="Uppföljning T1 2027")))
    cells = list(workbook["Uppföljning"].iter_rows(min_row=2, values_only=False))
    assert [(row[1].value, row[1].data_type) for row in cells] == [
        (TYPED, "s"),
        ("+46 70 123", "s"),
        ("Vanlig text", "s"),
    ]
