"""A hand-computed audit case of tests/data/auditN/NAME/: its plan, data folder and
expected.csv (tests/plan/hand/), and run's CSV read back as {(payee, period, component):
amount}. Shared by the audits' tests (tests/test_audit5.py)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from conftest import run_cli


def payout_amounts(text: str) -> dict:
    """A payout CSV (run's stdout, an expected.csv) as {(payee, period, component): amount}."""
    return {(row["payee_id"], row["period"], row["component"]): row["amount"]
            for row in csv.DictReader(io.StringIO(text))}


class Case:
    """tests/data/<audit>/<name>: `plan`, `data`, `expected` and `run(*args, data=...)`."""

    def __init__(self, audit: Path, name: str):
        self.folder = audit / name
        self.plan, self.data = self.folder / "plan.kam", self.folder / "data"

    @property
    def expected(self) -> dict:
        return payout_amounts((self.folder / "tests" / "plan" / "hand" / "expected.csv").read_text(encoding="utf-8"))

    def run(self, *args, data=None):
        return run_cli("run", self.plan, "--data", data or self.data, *args)

    def check_every_engine(self, sql_refusal: str | None):
        """The interpreter prints every amount of expected.csv (0.00 for the rows it does not
        list); the columnar engine the same bytes; duckdb the same bytes, or (sql_refusal: the
        construct it names) a KR440 refusal and nothing on stdout, never other amounts."""
        ref = self.run("--engine", "interpreter", "-q")
        assert ref.returncode == 0, ref.stderr
        printed, hand = payout_amounts(ref.stdout), self.expected
        assert {key: printed.get(key) for key in hand} == hand
        assert all(amount == "0.00" for key, amount in printed.items() if key not in hand)
        assert self.run("--engine", "columnar", "-q").stdout == ref.stdout
        sql = self.run("--engine", "duckdb", "-q")
        if sql_refusal is None:
            assert (sql.returncode, sql.stdout) == (0, ref.stdout), sql.stderr
        else:
            assert sql.returncode == 1 and sql.stdout == "" and "error[KR440]" in sql.stderr
            assert sql_refusal in sql.stderr
