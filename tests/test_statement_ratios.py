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
