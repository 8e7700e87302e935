"""A payee's statement names only rows that count for them. charter-split's `let won = deals
where status == "won" and close_date in period` selects every won deal of the quarter, for
everyone; its step in the derivation listed all five deal ids in each payee's statement (and so
in the portal, where a payee must see nothing of anyone else's). Now it lists the rows an
amount of the payee reads and counts the others (report/derivation.own_rows); `explain`, the
analysts' tool, still lists every row."""
from __future__ import annotations

import re

import pytest

from conftest import PLANS, run_cli

PLAN, DATA = PLANS / "charter-split.kam", PLANS / "tests" / "charter-split" / "acceptance"


@pytest.mark.parametrize("fmt", ["text", "md", "html"])
def test_a_kam_sees_only_the_deals_of_their_own_group(fmt):
    """kam-002's charter_fee 2,970.00 = 99,000 (ch-003, sub-21 of kam-002's group) x 3%; ch-001,
    ch-002 and ch-005 are kam-001's group's, ch-004 a local account's: none is named."""
    res = run_cli("statement", PLAN, "--data", DATA, "--payee", "kam-002", "--format", fmt)
    assert res.returncode == 0, res.stderr
    assert set(re.findall(r"ch-00\d", res.stdout)) == {"ch-003"}
    assert "and 4 other rows, which count for none of your amounts (not listed)" in res.stdout


def test_kam_001_sees_its_three_deals_and_explain_still_lists_all():
    """kam-001: 40,000 x 3% + min(150,000 x 3%, 3,000) + 100,000 x 3% = 1,200 + 3,000 + 3,000 =
    7,200.00 on ch-001, ch-002 and ch-005; the other two of the five won deals are counted."""
    res = run_cli("statement", PLAN, "--data", DATA, "--payee", "kam-001", "--format", "text", "--locale", "fr")
    assert set(re.findall(r"ch-00\d", res.stdout)) == {"ch-001", "ch-002", "ch-005"}
    assert "et 2 autres lignes, qui ne comptent dans aucun de vos montants (non listées)" in res.stdout
    res = run_cli("explain", PLAN, "--data", DATA, "--payee", "kam-001")
    assert set(re.findall(r"ch-00\d", res.stdout)) == {f"ch-00{i}" for i in range(1, 6)}
