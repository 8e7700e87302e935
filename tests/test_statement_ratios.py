"""Pools and ratios explained with their inputs (issue 16 item 7): a let that divides two
values shows both sides and their values, outermost first; the pharma plan's RIRE shows the
territory's and France's evolutions, each from its market shares (market_share.csv)."""
from __future__ import annotations

import csv
from decimal import Decimal

from conftest import EXAMPLES, PLANS, run_cli

DATA = EXAMPLES / "03-pharma-envelope"


def test_rire_shows_both_evolutions_and_the_ratio():
    with open(DATA / "market_share.csv", encoding="utf-8") as fh:
        shares = {r["scope"]: (Decimal(r["share_start"]), Decimal(r["share_end"])) for r in csv.DictReader(fh)}
    with open(DATA / "people.csv", encoding="utf-8") as fh:
        territory = next(r["territory"] for r in csv.DictReader(fh) if r["payee_id"] == "kam-ph1")
    (t0, t1), (f0, f1) = shares[territory], shares["FR"]
    t_evo, f_evo = (t1 - t0) / t0, (f1 - f0) / f0  # S01: 0.1 / 10 = 0.01; FR: 1.6 / 20 = 0.08
    rire = t_evo / f_evo  # 0.125
    r = run_cli("statement", PLANS / "pharma-rire.kam", "--data", DATA, "--payee", "kam-ph1", "--format", "text")
    assert r.returncode == 0, r.stderr
    n = lambda v: format(v.normalize(), "f")  # noqa: E731
    lines = [x.strip() for x in r.stdout.splitlines()]
    want = [f"- rire = territory_evolution / france_evolution: {n(t_evo)} / {n(f_evo)} = {n(rire)}",
            f"- territory_evolution = (territory.share_end - territory.share_start) / territory.share_start: "
            f"{n(t1 - t0)} / {n(t0)} = {n(t_evo)}",
            f"- france_evolution = (france.share_end - france.share_start) / france.share_start: "
            f"{n(f1 - f0)} / {n(f0)} = {n(f_evo)}"]
    at = lines.index(want[0])
    assert lines[at:at + 3] == want
    html = run_cli("statement", PLANS / "pharma-rire.kam", "--data", DATA, "--payee", "kam-ph1", "--format", "html",
                   "--locale", "fr")
    assert "Les ratios derrière ce montant" in html.stdout
    assert "rire = territory_evolution / france_evolution : 0,01 / 0,08 = 0,125" in html.stdout


AUDIT_POOL = EXAMPLES.parent / "tests" / "data" / "audit" / "pool-weight"


def test_a_pool_share_shows_its_prorate_factor():
    """pool-weight, s-4 (weight 2, leaves on 14 February): the derivation said only `weight 1
    of 2 in pool sud`. Hand: presence = 31 + 14 = 45 of Q1's 90 days = 50%; weight 2 x 50% = 1;
    the sud pool of 1,000.00 over weights 0.333333333333 + 0.666666666667 + 0 + 1 = 2: 500.00."""
    plan, data = AUDIT_POOL / "pool-weight.kam", AUDIT_POOL / "data"
    r = run_cli("statement", plan, "--data", data, "--payee", "s-4", "--period", "2025-Q1", "--format", "text")
    assert r.returncode == 0, r.stderr
    lines = [x.strip() for x in r.stdout.splitlines()]
    at = lines.index("pool_share pays €500.00; a share of the pool pool (€1,000.00): weight 1 of 2")
    assert lines[at + 1:at + 3] == [
        "- your weight in the pool: payee.weight * presence = 2 × 50% = 1",
        "- presence = prorate(payee.start_date, payee.end_date): 45 of the period's 90 days, "
        "January 1, 2025 to February 14, 2025 = 50%"]
    fr = run_cli("statement", plan, "--data", data, "--payee", "s-4", "--period", "2025-Q1", "--format", "html",
                 "--locale", "fr").stdout.replace("\u202f", " ").replace("\u00a0", " ")
    assert "<li>votre poids dans l’enveloppe : payee.weight * presence = 2 × 50 % = 1</li>" in fr
    assert "45 des 90 jours de la période, du 1 janvier 2025 au 14 février 2025 = 50 %" in fr


def test_a_share_says_its_pool_and_the_pools_weights_in_its_sentence():
    """pharma kam-ph1: the envelope of 70,000.00 shared by RIRE; the seven RIREs of the team
    page (0.125 + 0.5 + 0.75 + 1 + 1.25 + 1.5 + 1.875) add up to 7: 70,000 x 0.125 / 7 = 1,250."""
    r = run_cli("statement", PLANS / "pharma-rire.kam", "--data", PLANS / "tests" / "pharma-rire" / "acceptance",
                "--payee", "kam-ph1", "--format", "text")
    assert r.returncode == 0, r.stderr
    assert ("envelope_share pays €1,250.00; a share of the pool envelope (€70,000.00): weight 0.125 of 7"
            in r.stdout)
