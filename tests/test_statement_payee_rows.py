"""`statement --payee` reads the payee's reachable rows (as `explain`), not the whole data by
the strict loader: at 100,000 payees that load took minutes where the fast one takes seconds.
Guarded by refusing the whole strict load, with and without --period (the year to date)."""
from __future__ import annotations

from conftest import EXAMPLES, PLANS, run_cli

from kamrules.run.session import Session


def test_one_payee_statement_never_loads_the_whole_data(tmp_path, monkeypatch):
    plan, data = PLANS / "abtasty-kam.kam", EXAMPLES / "01-abtasty-nrr-upsell"
    whole = run_cli("statement", plan, "--data", data, "--payee", "kam-001", "--format", "md",
                    "-o", tmp_path / "whole.md")
    assert whole.returncode == 0, whole.stderr

    def refused(self):
        raise AssertionError("the whole data loaded by the strict loader")

    monkeypatch.setattr(Session, "load", refused)
    for extra in ([], ["--period", "2025-Q1"]):
        res = run_cli("statement", plan, "--data", data, "--payee", "kam-001", "--format", "md",
                      "-o", tmp_path / f"one{len(extra)}.md", *extra)
        assert res.returncode == 0, res.stderr
    # the same statement as with the whole data
    assert (tmp_path / "one0.md").read_text(encoding="utf-8") == (tmp_path / "whole.md").read_text(encoding="utf-8")
    assert "kam-001" in (tmp_path / "one2.md").read_text(encoding="utf-8")
