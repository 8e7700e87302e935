"""The team page read against issue 16's team paragraph (brief h-team item 6), the fixes
found: a pool's prorate factor is a measure column (the pool + prorate plan of the audit
showed each share with no word of why a leaver's is half)."""
from __future__ import annotations

from pathlib import Path

from conftest import run_cli

POOL = Path(__file__).resolve().parent / "data" / "audit" / "pool-weight"


def _row(section: str, payee: str) -> list:
    return next(x for x in section.splitlines() if x.strip().startswith(payee)).split()


def test_team_page_shows_the_prorate_factor_of_a_pool():
    """s-4 leaves on 14 February: 45 of Q1's 90 days = 50% (weight 2 x 50% = 1 of the sud
    pool's 2: 500.00); n-4 joins on 16 May: 46 of Q2's 91 days = 50.5495% (to 4 decimals of
    a percent); the others 100%."""
    res = run_cli("team", POOL / "pool-weight.kam", "--data", POOL / "data", "--format", "text")
    assert res.returncode == 0, res.stderr
    q1, q2 = res.stdout.split("2025-Q1:")[1].split("2025-Q2:")
    assert "presence" in q1.splitlines()[1].split()
    assert _row(q1, "s-4")[-5:] == ["EUR", "50%", "500.00", "500.00", "500.00"]
    assert _row(q1, "n-1")[-5:] == ["EUR", "100%", "33.34", "33.34", "33.34"]
    assert _row(q2, "n-4")[-5:] == ["EUR", "50.5495%", "0.01", "0.01", "0.01"]
