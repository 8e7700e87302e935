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


def test_a_kam_at_zero_is_offered_the_first_business_through_the_engine(tmp_path, monkeypatch):
    """am-003 without its one won deal (dl-0011): no row credited to upsell, which paid 0.00, and
    no what-if. Hand (annual variable 20,000: 5,000 a quarter; net upsell target 15,000):
    12,000 of expansion (or new business) reaches 80%, where payout_rate gives 50%: 30% x
    5,000 x 50% = 750.00 more on upsell. On nrr (portfolio 300,000, target 105%): 15,000 more
    reaches 105% / 105% = 100%, 100% instead of 87.5%: 70% x 5,000 x 12.5% = 437.50; the
    search finds the smallest whole amount. `--all` (batched) says the
    same."""
    from kamrules.portal import pages
    data = tmp_path / "data"
    shutil.copytree(ABTASTY, data)
    deals = (data / "deals.csv").read_text(encoding="utf-8")
    (data / "deals.csv").write_text("".join(x for x in deals.splitlines(True) if not x.startswith("dl-0011,")),
                                    encoding="utf-8")
    text = _statement(data, "am-003", fmt="md")
    upsell = text.split("### upsell:")[1]
    for measure in ("expansion", "new_business"):
        assert (f"€12,000.00 more {measure} before March 31, 2025 reaches the next tier (payout_rate: row 2: "
                f"\\| 80% to &lt; 100% \\|) and would pay €750.00 more on upsell") in upsell
    nrr = text.split("### nrr:")[1].split("### upsell:")[0]
    x = nrr.split(" more expansion before March 31, 2025 reaches the next tier")[0].rsplit("€", 1)[1]
    assert x == "15,000.00"
    assert "and would pay €437.50 more on nrr" in nrr
    monkeypatch.setattr(pages, "BATCH_FROM", 2)  # batched from two payees (else from hundreds)
    res = run_cli("statement", PLANS / "abtasty-kam.kam", "--data", data, "--all", "-o", tmp_path / "st",
                  "--format", "md")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "st" / "am-003.md").read_text(encoding="utf-8") == text


def test_a_component_at_zero_that_business_would_pay_is_shown_with_its_what_if():
    """team-bonus, n-3 booked nothing: `commission = bookings * commission_rate` was hidden as
    "cannot apply to you". The first deal of deals.csv is 70,000: the first step is 1% of it,
    700.00, which pays 700 x 5% = 35.00 (the plan's rate)."""
    res = run_cli("statement", PLANS / "team-bonus.kam", "--data", PLANS / "tests" / "team-bonus" / "exactly-at-target",
                  "--payee", "n-3", "--format", "text")
    assert res.returncode == 0, res.stderr
    assert "cannot apply" not in res.stdout and "  commission      €0.00" in res.stdout
    assert "- €700.00 more bookings before March 31, 2025 would pay €35.00 more on commission" in res.stdout
