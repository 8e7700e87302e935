"""Statement rows tables for every kind of aggregate (issue 16, items 3 and 4): a count's rows
and the rows it leaves out, with its sentence in business words; the currency conversion of
each row (currency, rate and its day, converted amount); a table read on one day (a
portfolio) names each account once; a clawback's row dated by its cancellation; a split line
dated by its deal; and never a colleague's row listed as left out. Every number below is
computed by hand from the case's CSV files (in the comments)."""
from __future__ import annotations

import datetime as dt
import re

from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import PLANS, run_cli

CASES = PLANS / "tests"


def _statement(plan: str, data, payee: str, *extra, fmt: str = "text", lang: str = "en") -> str:
    r = run_cli("statement", PLANS / f"{plan}.kam", "--data", data, "--payee", payee, "--format", fmt,
                "--locale", lang, *extra)
    assert r.returncode == 0, r.stderr
    return r.stdout.replace("\u202f", " ").replace("\u00a0", " ")


def _block(text: str, title: str) -> list:
    """The lines of the table titled `title` (text format), up to the next title."""
    lines = text.splitlines()
    start = next(k for k, x in enumerate(lines) if x in (f"    {title}:", f"    {title} :")) + 1
    end = next(k for k in range(start, len(lines)) if not lines[k].startswith("      "))
    return [re.sub(r"\s{2,}", " | ", x.strip()) for x in lines[start:end]]


def test_a_count_has_its_rows_its_left_out_rows_and_a_sentence_in_business_words():
    """Emotion AI challenge, kam-002 in 2025-Q2 (window April 1 to June 30): ld-006 created
    June 30 counts (1 x 150 EUR), signed July 1: not in Q2; ld-007 created July 1 (a day after
    the quarter), signed July 2. 1 x 150 + 0 x 300 = 150, the expected.csv's 150.00."""
    out = _statement("emotion-ai-challenge", CASES / "emotion-ai-challenge" / "acceptance", "kam-002",
                     "--period", "2025-Q2")
    assert "emotion_ai_challenge pays €150.00; 1 created × €150.00 + 0 signed × €300.00" in out
    assert _block(out, "Rows counted in created") == ["June 30, 2025 | ld-006 | €150.00"]
    assert _block(out, "Rows left out of created") == [
        "July 1, 2025 | ld-007: created_date July 1, 2025 is outside 2025-Q2"]
    assert _block(out, "Rows left out of signed") == [
        "July 1, 2025 | ld-006: signed_date July 1, 2025 is outside 2025-Q2",
        "July 2, 2025 | ld-007: signed_date July 2, 2025 is outside 2025-Q2"]
    assert "Rows counted in signed" not in out  # a count at zero: said in the sentence only


def test_a_counts_rows_add_up_to_the_component_and_are_dated_by_their_own_event():
    """kam-001: created in Q2 and the window: ld-002 (April 2), ld-003 (May 11); ld-001 was
    created March 30 (2 days before), ld-004 is an abtasty lead. Signed in Q2: ld-002 (May 20)
    and ld-005 (April 10, created March 15). 2 x 150 + 2 x 300 = 900 (expected.csv)."""
    out = _statement("emotion-ai-challenge", CASES / "emotion-ai-challenge" / "acceptance", "kam-001",
                     "--period", "2025-Q2", lang="fr")
    assert "2 created × 150,00 € + 2 signed × 300,00 €" in out
    assert _block(out, "Lignes comptées dans signed") == [
        "date | ligne | created_date | crédité",
        "20 mai 2025 | ld-002 | 2 avril 2025 | 300,00 €",
        "10 avril 2025 | ld-005 | 15 mars 2025 | 300,00 €"]
    assert _block(out, "Lignes écartées de created") == [
        "30 mars 2025 | ld-001 : created_date 30 mars 2025 est hors de 2025-Q2",
        "12 mai 2025 | ld-004 : product vaut abtasty, pas emotion_ai"]


def test_each_converted_row_shows_its_currency_rate_rate_day_and_converted_amount():
    """u-01: $10,000 closed Jan 15 at the rate of Jan 1 (0.95, the latest on or before) =
    €9,500.00, x 4% = €380.00; u-02: $25,000 on Feb 3 at Feb 1's 0.9123 = €22,807.50, x 4% =
    €912.30 (sum 1,292.30: expected.csv)."""
    out = _statement("fx-commission", CASES / "fx-commission" / "example", "us-1", fmt="md")
    assert ("| date | row | amount | currency | FX rate | rate date | converted | credited |\n"
            "|---|---|---:|---|---:|---|---:|---:|\n"
            "| January 15, 2025 | u-01 | $10,000.00 | USD | 0.95 | January 1, 2025 | €9,500.00 | €380.00 |\n"
            "| February 3, 2025 | u-02 | $25,000.00 | USD | 0.9123 | February 1, 2025 | €22,807.50 | €912.30 |") in out


def test_a_payee_paid_in_their_own_currency_sees_the_rate_a_payee_paid_in_the_deals_has_none():
    """bob is paid in USD: b-1 €20,000.50 x 4% = €800.02 at Jan 1's 1.0357 = $828.580714,
    rounded to $828.58; ana is paid in EUR, as her deals are booked: no conversion columns."""
    bob = _statement("pay-currency", CASES / "pay-currency" / "example", "bob", "--period", "2025-Q1")
    assert _block(bob, "Rows credited to commission")[:2] == [
        "date | row | amount | currency | FX rate | rate date | converted | credited",
        "January 15, 2025 | b-1 | €20,000.50 | EUR | 1.0357 | January 1, 2025 | $828.58 | $828.58"]
    ana = _statement("pay-currency", CASES / "pay-currency" / "example", "ana", "--period", "2025-Q1", fmt="md")
    assert "| date | row | amount | credited |\n|---|---|---:|---:|\n| January 20, 2025 | a-1 | €30,000.00 | €1,200.00 |" \
        in ana


def test_a_portfolio_read_on_one_day_names_each_account_once():
    """arr has no key: a row is named by its account; acc-101's 200,000 on January 1 is one
    account, shown once (it was `acc-101  acc-101`)."""
    out = _statement("abtasty-kam", CASES / "abtasty-kam" / "acceptance", "kam-001", "--period", "2025-Q1",
                     fmt="md")
    assert "| date | account | amount |\n|---|---|---:|\n| January 1, 2025 | acc-101 | €200,000.00 |" in out
    assert "acc-101 | acc-101" not in out


def test_no_colleagues_row_is_left_out_of_a_payees_statement():
    """charter-split: ae-010 closed ch-001 and ch-003; ch-002, ch-004, ch-005 are ae-011's deals,
    and grp-1's deals (ch-001, ch-002, ch-005) are kam-001's group, not kam-002's (grp-2):
    none of them is a row of theirs left out. k-1 held g-1 until Feb 14: c3 (Feb 15) and c6
    (Mar 20) of g-1's e-1 are theirs, left out on that day; c4's e-3 has no parent group."""
    acc = CASES / "charter-split" / "acceptance"
    ae = _statement("charter-split", acc, "ae-010").split("How it is computed")[0]
    assert "Rows left out" not in ae and "ch-002" not in ae and "ch-005" not in ae
    kam = _statement("charter-split", acc, "kam-002").split("How it is computed")[0]
    assert "Rows left out" not in kam and "ch-001" not in kam
    k1 = _statement("charter-split", CASES / "charter-split" / "cap-and-parent", "k-1")
    assert _block(k1, "Rows left out of charter_fee") == [
        "February 15, 2025 | e-1 | c3 | €50,000.00: the account was not assigned to you on that day",
        "March 20, 2025 | e-1 | c6 | €12,345.67: the account was not assigned to you on that day"]


def test_a_clawback_row_is_dated_by_its_cancellation_and_a_won_deal_is_no_candidate():
    """ae-020's cb-002 (80,000 closed Feb 10) cancelled May 2: -10% = -8,000 taken back in May,
    dated May 2 with its close date beside; cb-001 (won, never cancelled) is not said to be
    left out of the clawback."""
    out = _statement("clawback-cash", CASES / "clawback-cash" / "acceptance", "ae-020", "--period", "2025-05")
    assert _block(out, "Rows taken back in booking_commission") == [
        "date | row | amount | close_date | credited",
        "May 2, 2025 | cb-002 | €80,000.00 | February 10, 2025 | -€8,000.00"]
    assert "cb-001" not in out.split("How it is computed")[0]


def test_a_split_line_is_dated_by_its_deal_and_left_out_in_words():
    """ae-1's s-01 line: 60% of the deal's 100,000 closed Jan 20, x 6% = 3,600.00; s-03's deal
    (50,000, March 5) is lost: `deals[deal_id].status == "won"` said as a column is."""
    out = _statement("split-credit", CASES / "split-credit" / "example", "ae-1")
    rows = _block(out, "Rows credited to commission")
    assert rows[1] == "January 20, 2025 | s-01 | €100,000.00 | 60% | €3,600.00"
    assert _block(out, "Rows left out of commission") == ["March 5, 2025 | s-03 | €50,000.00: status is lost, not won"]


def test_statement_all_equals_payee_for_counts_and_conversions(tmp_path):
    for plan, case in (("emotion-ai-challenge", "acceptance"), ("fx-commission", "rate-switch-day")):
        data = CASES / plan / case
        r = run_cli("statement", PLANS / f"{plan}.kam", "--data", data, "--all", "-o", tmp_path / plan,
                    "--format", "md")
        assert r.returncode == 0, r.stderr
        for f in sorted((tmp_path / plan).glob("*.md")):
            one = run_cli("statement", PLANS / f"{plan}.kam", "--data", data, "--payee", f.stem, "--format", "md")
            assert one.stdout == f.read_text(encoding="utf-8"), (plan, f.stem)


_DAY = st.integers(min_value=-10, max_value=100).map(lambda k: dt.date(2025, 3, 25) + dt.timedelta(days=k))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_DAY, st.one_of(st.none(), st.integers(min_value=0, max_value=40))),
                min_size=1, max_size=5))
def test_a_counts_sentence_and_rows_agree_with_the_amount_paid(tmp_path_factory, leads):
    """Any leads: the sentence's counts are the leads created (signed) in Q2 (the window),
    counted here by hand from the dates; the rows' credits add up to the amount paid."""
    data = tmp_path_factory.mktemp("leads")
    (data / "people.csv").write_text("payee_id,name\np-1,One\n", encoding="utf-8")
    lines = ["lead_id,payee_id,product,created_date,signed_date", "a-0,p-1,abtasty,2025-05-01,"]  # Q2 in the data
    for k, (made, later) in enumerate(leads):
        signed = "" if later is None else (made + dt.timedelta(days=later)).isoformat()
        lines.append(f"l{k},p-1,emotion_ai,{made.isoformat()},{signed}")
    (data / "leads.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    q2 = (dt.date(2025, 4, 1), dt.date(2025, 6, 30))
    created = sum(q2[0] <= made <= q2[1] for made, _ in leads)
    signed = sum(later is not None and q2[0] <= made + dt.timedelta(days=later) <= q2[1] for made, later in leads)
    out = _statement("emotion-ai-challenge", data, "p-1", "--period", "2025-Q2")
    paid = 150 * created + 300 * signed
    assert f"Earned this period: €{paid:,}.00" in out
    if created + signed:
        assert f"; {created} created × €150.00 + {signed} signed × €300.00" in out
        rows = [x for name in ("created", "signed") if f"Rows counted in {name}:" in out
                for x in _block(out, f"Rows counted in {name}") if not x.startswith("date |")]
        assert len(rows) == created + signed
        assert sum(int(x.rsplit("€", 1)[1].replace(",", "")[:-3]) for x in rows) == paid


MIN_MAX_AVG = """plan "Min max avg"
currency EUR
period quarter
payees people

input people key payee_id {
  payee_id: Text
}
input deals key deal_id {
  deal_id: Text
  owner_id: Text
  amount: Money
  close_date: Date
}

let mine = deals where owner_id == payee.id and close_date in period
let biggest = max(amount for mine)
let average = avg(amount for mine)

component big_deal_bonus = biggest * 1%
component average_bonus = average * 2%
"""


def test_a_max_and_an_avg_show_the_rows_they_read_the_kept_one_marked(tmp_path):
    """Q1 deals 1,000 (Jan 10), 3,000 (Feb 10), 2,000 (Mar 10); 500 on April 2 is Q2's. The
    largest is 3,000 (d2): 1% = 30.00; the average (1,000 + 3,000 + 2,000) / 3 = 2,000: 2% =
    40.00. Each table lists the 3 rows read; d4 is left out once, by its date."""
    (tmp_path / "data").mkdir()
    (tmp_path / "mm.kam").write_text(MIN_MAX_AVG, encoding="utf-8")
    (tmp_path / "data" / "people.csv").write_text("payee_id,name\np-1,One\n", encoding="utf-8")
    (tmp_path / "data" / "deals.csv").write_text(
        "deal_id,owner_id,amount,close_date\nd1,p-1,1000,2025-01-10\nd2,p-1,3000,2025-02-10\n"
        "d3,p-1,2000,2025-03-10\nd4,p-1,500,2025-04-02\n", encoding="utf-8")
    r = run_cli("statement", tmp_path / "mm.kam", "--data", tmp_path / "data", "--payee", "p-1", "--period",
                "2025-Q1", "--format", "md")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "big_deal_bonus pays €30.00; on biggest €3,000.00" in out
    assert "average_bonus pays €40.00; on average €2,000.00" in out
    assert ("Rows read by biggest:\n\n| date | row | the largest | amount |\n|---|---|---|---:|\n"
            "| January 10, 2025 | d1 |  | €1,000.00 |\n| February 10, 2025 | d2 | ✓ | €3,000.00 |\n"
            "| March 10, 2025 | d3 |  | €2,000.00 |") in out
    assert "Rows read by average:\n\n| date | row | amount |\n|---|---|---:|\n| January 10, 2025 | d1 | €1,000.00 |" in out
    assert out.count("| April 2, 2025 | d4 | €500.00 | close_date April 2, 2025 is outside 2025-Q1 |") == 1


def test_a_capped_row_shows_the_cap_it_was_held_to():
    """charter_fee = round(min(amount * 3%, 3,000), cent): c1 100,000 x 3% = 3,000.00, the cap
    itself (not held back: —); c2 100,001 x 3% = 3,000.03, capped at 3,000.00."""
    out = _statement("charter-split", CASES / "charter-split" / "cap-and-parent", "k-1", fmt="md")
    assert ("| date | account | row | amount | capped at | credited |\n|---|---|---|---:|---:|---:|\n"
            "| January 10, 2025 | e-1 | c1 | €100,000.00 | — | €3,000.00 |\n"
            "| February 14, 2025 | e-2 | c2 | €100,001.00 | €3,000.00 | €3,000.00 |") in out
