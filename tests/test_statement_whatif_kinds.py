"""What-ifs that make sense for the measure (brief h-team items 3 and 5): a measure taken on
one day (AB Tasty's portfolio, the ARR on the quarter's first day) is offered no "X more
before March 31" (business added in the quarter never changes it), and the statement says
why; a payee with no row credited in the period (a KAM at zero) is offered what the first
business would pay, computed through the engine."""
from __future__ import annotations

import shutil

import pytest

from conftest import EXAMPLES, PLANS, run_cli

ABTASTY = EXAMPLES / "01-abtasty-nrr-upsell"


def _plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def _statement(data, payee: str, lang: str = "en", fmt: str = "text") -> str:
    res = run_cli("statement", PLANS / "abtasty-kam.kam", "--data", data, "--payee", payee, "--locale", lang,
                  "--format", fmt)
    assert res.returncode == 0, res.stderr
    return _plain(res.stdout)


@pytest.mark.parametrize("lang, reason", [
    ("en", "portfolio is taken on January 1, 2025: business added during the period does not change it, "
           "so no what-if is offered for it"),
    ("fr", "portfolio est relevé le 1 janvier 2025 : les affaires ajoutées pendant la période ne le changent pas, "
           "aucune simulation n’est donc proposée"),
])
def test_a_portfolio_taken_on_the_quarters_first_day_gets_no_what_if(tmp_path, lang, reason):
    """kam-002's portfolio made 1,173,020 (acc-201 at 623,020): NRR (1,173,020 - 40,000) /
    1,173,020 = 96.59%, 91.99% of the 105% target, 91% rounded down. 1% more portfolio
    (11,731) would read 96.62%, 92.02%: 92%, and the statement offered "€11,731.00 more
    portfolio before March 31": the ARR of 1 January cannot grow before 31 March."""
    data = tmp_path / "data"
    shutil.copytree(ABTASTY, data)
    arr = (data / "arr.csv").read_text(encoding="utf-8")
    assert "acc-201,2025-01-01,450000\n" in arr
    (data / "arr.csv").write_text(arr.replace("acc-201,2025-01-01,450000\n", "acc-201,2025-01-01,623020\n"),
                                  encoding="utf-8")
    text = _statement(data, "kam-002", lang)
    assert "nrr_attainment = 91" in text
    assert "more portfolio" not in text and "de plus en portfolio" not in text
    assert text.count(reason) == 1
    html = _statement(data, "kam-002", lang, "html")
    assert f"<li>{reason}</li>" in html.replace("’", "’")
