"""What-ifs of counts of rows (report/whatif_count.py) and the next tier found on the
unrounded argument of an attainment (report/whatif_edge.py), every amount by hand or by a
second method (brute force), `--all` (batched clones) equal to `--payee`."""
from __future__ import annotations

import shutil
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import EXAMPLES, PLANS, run_cli
from kamrules.core import ir
from kamrules.portal import pages
from kamrules.report import whatif, whatif_batch, whatif_count
from kamrules.report.statement import render

EMOTION = PLANS / "emotion-ai-challenge.kam"
EMOTION_CASE = PLANS / "tests" / "emotion-ai-challenge" / "acceptance"

DEALS = """plan "Deal count bonus"
currency EUR
period quarter
payees people

input people key payee_id {
  payee_id: Text
}
input deals key deal_id {
  deal_id: Text
  owner_id: Text
  status: Text
  close_date: Date
}

let won = count(deals where owner_id == payee.id and status == "won" and close_date in period)

curve bonus(n: Number) -> Money {
  | < 3      | 0 EUR    |
  | 3 to < 5 | 500 EUR  |
  | >= 5     | 1200 EUR |
}

component deal_bonus = bonus(won)
"""
DEAL_ROWS = """deal_id,owner_id,status,close_date
d-1,p-1,won,2025-01-10
d-2,p-1,lost,2025-02-10
d-3,p-2,won,2025-01-20
d-4,p-2,won,2025-02-20
d-5,p-2,won,2025-03-20
d-6,p-2,won,2025-03-21
d-7,p-1,won,2024-12-30
"""


def _statements(monkeypatch, tmp_path, plan, data, *args) -> dict:
    """payee id -> the Statement objects `kamrules statement ARGS` built (rendered as usual)."""
    got: dict = {}

    def keep(s, fmt):
        got[s.payee_id] = s
        return render(s, fmt)
    monkeypatch.setattr(pages, "render", keep)
    out = tmp_path / f"out-{len(list(tmp_path.iterdir()))}"
    res = run_cli("statement", plan, "--data", data, "-o", out if "--all" in args else out.with_suffix(".txt"),
                  "--format", "text", *args)
    assert res.returncode == 0, res.stderr
    return got


def _sentences(s, lang_period=None) -> list:
    return [whatif_count.sentence(s, pv, c, e) for pv in s.periods for c in pv.components for e in c.count_effects]


def _plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def test_one_more_lead_signed_or_created_by_hand(monkeypatch, tmp_path):
    """kam-002 in 2025-Q2: created 1 (ld-006, 30 June), signed 0 (ld-006 signed 1 July): 150.00.
    One more lead signed in the window: 150 x 1 + 300 x 1 = 450.00, 300.00 more; one more
    created: 150 x 2 = 300.00, 150.00 more. The copy of ld-006 (created 30 June) signed on 30
    June would also be one more created (450 more): the copy is ld-007's (created 1 July)."""
    s = _statements(monkeypatch, tmp_path, EMOTION, EMOTION_CASE, "--payee", "kam-002")["kam-002"]
    assert _sentences(s) == [
        "1 more row of leads in created (product emotion_ai) before June 30, 2025 would pay €150.00 more on "
        "emotion_ai_challenge",
        "1 more row of leads in signed (product emotion_ai) before June 30, 2025 would pay €300.00 more on "
        "emotion_ai_challenge"]
    signed = s.periods[1].components[0].count_effects[1].measure
    assert signed.added.template.id == "ld-007" and signed.added.row.values["signed_date"].isoformat() == "2025-06-30"
    fr = _statements(monkeypatch, tmp_path, EMOTION, EMOTION_CASE, "--payee", "kam-002", "--locale", "fr")["kam-002"]
    assert _plain(_sentences(fr)[1]) == ("1 ligne de plus de leads dans signed (product emotion_ai) avant le "
                                         "30 juin 2025 paierait 300,00 € de plus sur emotion_ai_challenge")


def _deals(tmp_path):
    (tmp_path / "plan.kam").write_text(DEALS, encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    (data / "people.csv").write_text("payee_id\np-1\np-2\n", encoding="utf-8")
    (data / "deals.csv").write_text(DEAL_ROWS, encoding="utf-8")
    return tmp_path / "plan.kam", data


def test_rows_to_the_next_tier_of_a_count_read_by_a_curve(monkeypatch, tmp_path):
    """p-1 won d-1 in 2025-Q1 (d-2 lost, d-7 in 2024): 1 won, bonus 0. One more: 2, still 0
    (no sentence); 2 more: 3, `3 to < 5` pays 500.00. p-2 won 4: one more is 5, `>= 5` pays
    1,200.00: 700.00 more, said once (the step is the tier)."""
    plan, data = _deals(tmp_path)
    got = _statements(monkeypatch, tmp_path, plan, data, "--all", "--period", "2025-Q1")
    assert _sentences(got["p-1"]) == [
        "2 more rows of deals in won (status won) before March 31, 2025 reach the next tier (bonus: row 2: "
        "| 3 to < 5 |) and would pay €500.00 more on deal_bonus"]
    assert _sentences(got["p-2"]) == [
        "1 more row of deals in won (status won) before March 31, 2025 reaches the next tier (bonus: row 3: "
        "| >= 5 |) and would pay €700.00 more on deal_bonus"]


def _assigned_count(tmp_path):
    """The AB Tasty plan's won deals (credited by account assignment) counted, in a curve."""
    text = (PLANS / "abtasty-kam.kam").read_text(encoding="utf-8").split("# Attainment is rounded")[0]
    (tmp_path / "assigned.kam").write_text(text + """
let n_won = count(won where type == "expansion")

curve bonus(n: Number) -> Money {
  | < 3      | 0 EUR    |
  | 3 to < 6 | 500 EUR  |
  | >= 6     | 1200 EUR |  # noqa: KR502
}

component deal_bonus = bonus(n_won)
""", encoding="utf-8")
    return tmp_path / "assigned.kam"


@pytest.mark.parametrize("batch_from", [2, pages.BATCH_FROM])
def test_all_equals_payee(monkeypatch, tmp_path, batch_from):
    """With the batch (from 2 payees), every count question answered on clones (no
    interpreter fallback; rows tied to the payee by a column, or by an account's assignment),
    else the interpreter on each payee's rows: each statement and its count sentences as
    `--payee` makes them. kam-001 won 2 expansions in 2025-Q1 (dl-0001, dl-0002): 1 more
    reaches `3 to < 6`, 500.00."""
    plan, data = _deals(tmp_path)
    fallbacks = []
    real = whatif_batch.Batch._fallback
    monkeypatch.setattr(whatif_batch.Batch, "_fallback", lambda self, *a: fallbacks.append(a) or real(self, *a))
    monkeypatch.setattr(pages, "BATCH_FROM", batch_from)
    every = {}
    for p, d, ids, extra in ((plan, data, ["p-1", "p-2"], ("--period", "2025-Q1")),
                             (EMOTION, EMOTION_CASE, ["kam-001", "kam-002"], ()),
                             (_assigned_count(tmp_path), EXAMPLES / "01-abtasty-nrr-upsell", ["kam-001", "kam-002"],
                              ("--period", "2025-Q1"))):
        every = _statements(monkeypatch, tmp_path, p, d, "--all", *extra)
        for pid in ids:
            one = _statements(monkeypatch, tmp_path, p, d, "--payee", pid, *extra)[pid]
            assert render(every[pid], "text") == render(one, "text")
            assert _sentences(every[pid]) == _sentences(one) != []
    assert _sentences(every["kam-001"]) == [
        "1 more row of deals in n_won (type expansion; status won) before March 31, 2025 reaches the next tier "
        "(bonus: row 2: | 3 to < 6 |) and would pay €500.00 more on deal_bonus"]
    assert fallbacks == []


def test_am_003_next_tiers_in_few_reruns(tmp_path, monkeypatch):
    """test_statement_whatif_kinds' am-003 without dl-0011 (hand: 12,000 more expansion reaches
    80% of the 15,000 upsell target, 750.00 more; 15,000 more reaches nrr 100%, 437.50 more):
    the same amounts, each tier found on the unrounded attainment in a few re-runs (step, the
    line's amount, the unit below): 27 interpreter re-runs for the statement (71 on 635af67,
    bisecting on the axis rounded to the percent)."""
    data = tmp_path / "data"
    shutil.copytree(EXAMPLES / "01-abtasty-nrr-upsell", data)
    deals = (data / "deals.csv").read_text(encoding="utf-8")
    (data / "deals.csv").write_text("".join(x for x in deals.splitlines(True) if not x.startswith("dl-0011,")),
                                    encoding="utf-8")
    runs = []
    real = whatif.WhatIf.run
    monkeypatch.setattr(whatif.WhatIf, "run", lambda self, *a, **k: runs.append(1) or real(self, *a, **k))
    res = run_cli("statement", PLANS / "abtasty-kam.kam", "--data", data, "--payee", "am-003", "--format", "text")
    assert res.returncode == 0, res.stderr
    assert ("€12,000.00 more expansion before March 31, 2025 reaches the next tier (payout_rate: row 2: "
            "| 80% to < 100% |) and would pay €750.00 more on upsell") in res.stdout
    assert "€15,000.00 more expansion before March 31, 2025 reaches the next tier" in res.stdout
    assert "and would pay €437.50 more on nrr" in res.stdout
    assert 0 < len(runs) <= 27


def _name(n):
    return ir.Name(n, ("def", n), uid=0, span=None)


@settings(max_examples=60, deadline=None)
@given(num=st.integers(50_000, 2_000_000), den=st.integers(10_000, 900_000), above=st.integers(1, 60))
def test_the_edge_found_on_e_is_the_smallest_whole_amount(num, den, above):
    """axis = round(num / den, 1%, down) with X more on num; the tier `above` points over the
    payee's axis. Brute force (a second method): the smallest whole X with (num + X) / den >= t,
    i.e. X = ceil(t * den - num). The search on E finds it in at most 4 re-runs, and the search
    on the axis alone (E unknown) finds the same X."""
    num, den = Decimal(num), Decimal(den)
    now = (num / den).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    t = now + Decimal(above) / 100
    want = max((t * den - num).to_integral_value(rounding=ROUND_CEILING), Decimal(1))
    inner = ir.BinOp("/", _name("num"), _name("den"), uid=0, span=None)

    def outcome(x):
        e = (num + x) / den
        return whatif.Outcome({"c": Decimal(1) if e >= t else Decimal(0)},
                              {"axis": e.quantize(Decimal("0.01"), rounding=ROUND_DOWN), "num": num + x, "den": den})

    class Payout:
        component, amount = "c", Decimal(0)
    from kamrules.core.numeric import Money
    m = whatif.Measure("num", "t", "amount", Money(num, "EUR"), [])
    for tier in (whatif.Tier("axis", t, "from", "row", inner, frozenset({"num", "den"}), frozenset()),
                 whatif.Tier("axis", t, "from", "row")):
        asked = []
        base = {"axis": now, "num": num, "den": den}
        found = whatif.drive(whatif.search(Payout, m, [tier], {"axis", "num", "den"}, base),
                             lambda x: asked.append(x) or outcome(x))
        tiers = [e for e in found if e.tier is not None]
        assert tiers and tiers[0].delta.amount == want
        if tier.inner is not None:
            assert len(asked) <= 4, asked


def test_no_more_rows_than_max_rows(monkeypatch, tmp_path):
    """With at most 1 row added, p-1's tier (2 more rows) is not offered, batched or not;
    p-2's (1 more row) still is."""
    plan, data = _deals(tmp_path)
    monkeypatch.setattr(whatif_count, "MAX_ROWS", 1)
    monkeypatch.setattr(pages, "BATCH_FROM", 2)
    every = _statements(monkeypatch, tmp_path, plan, data, "--all", "--period", "2025-Q1")
    one = _statements(monkeypatch, tmp_path, plan, data, "--payee", "p-1", "--period", "2025-Q1")["p-1"]
    assert _sentences(every["p-1"]) == _sentences(one) == []
    assert len(_sentences(every["p-2"])) == 1


def test_the_statement_says_the_count_what_ifs():
    """emotion-ai kam-002, 2025-Q2 (the rendered lines, text): 150 EUR per lead created in the
    window, 300 EUR per lead signed in it; one more of each, re-run: +150.00 and +300.00."""
    from conftest import run_cli
    res = run_cli("statement", EMOTION, "--data", EMOTION_CASE, "--payee", "kam-002", "--format", "text",
                  "--period", "2025-Q2")
    assert res.returncode == 0, res.stderr
    lines = [x.strip() for x in res.stdout.splitlines() if "more row of leads" in x]
    assert lines == [
        "- 1 more row of leads in created (product emotion_ai) before June 30, 2025 would pay €150.00 more on "
        "emotion_ai_challenge",
        "- 1 more row of leads in signed (product emotion_ai) before June 30, 2025 would pay €300.00 more on "
        "emotion_ai_challenge"]
