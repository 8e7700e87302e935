"""The team page in a currency of other minor digits than two (issue 16, brief h-team item 1):
the audit's Tokyo plan (tests/data/audit/jpy-fx) pays in yen, to the yen; every amount of the
page, in every format and table, has the yen's digits (none), never `6,234.00`."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_cli

JPY = Path(__file__).resolve().parent / "data" / "audit" / "jpy-fx"


def _team(fmt: str, lang: str = "en") -> str:
    res = run_cli("team", JPY / "jpy-fx.kam", "--data", JPY / "data", "--format", fmt, "--locale", lang)
    assert res.returncode == 0, res.stderr
    return res.stdout.replace("\u202f", " ").replace("\u00a0", " ")


def test_team_text_amounts_in_yen_have_no_decimals():
    """Hand (expected.csv of the case): t-1 6,234 and t-2 56 in 2025-Q1 (6,290, average 3,145);
    2025-Q2 t-2 449 and t-1 0 (not paid: average 449 / 1 = 449); year to date t-2 56 + 449 = 505,
    the team 6,290 + 449 = 6,739."""
    text = _team("text")
    assert ".00" not in text
    q1, q2 = text.split("2025-Q1:")[1].split("2025-Q2:")
    assert "2 payees paid, total 6,290 JPY, average 3,145 JPY" in q1
    assert next(x for x in q1.splitlines() if x.strip().startswith("t-1")).split()[-3:] == ["6,234"] * 3
    assert next(x for x in q1.splitlines() if x.strip().startswith("total")).split()[1:] == ["6,290"] * 3
    assert "1 payee paid, total 449 JPY, average 449 JPY; no payout: t-1 (no data)" in q2
    assert next(x for x in q2.splitlines() if x.strip().startswith("t-2")).split()[-3:] == ["449", "449", "505"]
    assert next(x for x in q2.splitlines() if x.strip().startswith("total")).split()[1:] == ["449", "449", "6,739"]


@pytest.mark.parametrize("fmt, lang, cells", [
    ("md", "fr", ["| t-1 (佐藤 花子) | 6 234 | 6 234 | 6 234 |", "| **total** | **449** | **449** | **6 739** |"]),
    # the last of 8 bins from 56 to 6,234: 56 + 7 x 6,178 / 8 = 5,461.75, shown 5,462
    ("html", "en", ['<td data-label="commission">6,234</td>', "<li>5,462 – 6,234: 1 payee</li>",
                    "total 6,290 JPY"]),
])
def test_team_md_and_html_amounts_in_yen(fmt, lang, cells):
    """The same amounts in Markdown (French signs) and HTML (cells, the histogram's bins)."""
    text = _team(fmt, lang)
    assert all(c in text for c in cells), text
    assert ",00" not in text and ".00" not in text
