"""The conformance suite (tests/conformance/, format in its README.md): every case runs
through the command line (`kamrules.cli.main.main`, in this process to spare the shared machine
one interpreter start per case; one case also runs as a real subprocess); payouts are
compared with the acceptance rules, error cases by KR code (and plan line when given)."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from conftest import ROOT, run_cli_process
from kamrules.cli.main import main
from test_acceptance import _rows, compare

SUITE = ROOT / "tests" / "conformance"
CASES = sorted(p.name for p in SUITE.iterdir() if p.is_dir() and re.match(r"^\d{3}-", p.name))


def _args(folder: Path) -> list[str]:
    f = folder / "args.txt"
    return shlex.split(f.read_text()) if f.exists() else []


def test_suite_is_complete():
    assert len(CASES) >= 60
    for name in CASES:
        folder = SUITE / name
        assert (folder / "plan.kam").exists(), name
        assert (folder / "expected.csv").exists() != (folder / "expected-error.txt").exists(), name
    codes = {(SUITE / n / "expected-error.txt").read_text().split()[0] for n in CASES
             if (SUITE / n / "expected-error.txt").exists()}
    # every family of check and data errors has a case
    for family in ("KR001", "KR002", "KR003", "KR004", "KR101", "KR102", "KR103", "KR104", "KR105",
                   "KR201", "KR202", "KR203", "KR204", "KR205", "KR206", "KR301", "KR302", "KR303",
                   "KR304", "KR401", "KR402", "KR403", "KR404", "KR405", "KR406", "KR407", "KR409"):
        assert family in codes, family


class _Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def _run(folder: Path, capsys) -> _Result:
    argv = ["run", str(folder / "plan.kam"), "--data", str(folder), "--format", "csv", "--jobs", "1",
            *_args(folder)]
    rc = main(argv)
    out = capsys.readouterr()
    return _Result(rc, out.out, out.err)


def test_one_case_as_a_real_process():
    folder = SUITE / CASES[0]
    res = run_cli_process("run", folder / "plan.kam", "--data", folder, "--format", "csv", *_args(folder))
    assert res.returncode == 0, res.stderr
    assert compare(_rows(res.stdout), _rows((folder / "expected.csv").read_text())) == []


@pytest.mark.parametrize("name", CASES)
def test_case(name, capsys):
    folder = SUITE / name
    res = _run(folder, capsys)
    error = folder / "expected-error.txt"
    if error.exists():
        words = error.read_text().split()
        code = words[0]
        assert res.returncode == 1, f"expected {code}, got exit {res.returncode}:\n{res.stdout}{res.stderr}"
        assert f"error[{code}]" in res.stderr, res.stderr
        if len(words) >= 3 and words[1] == "line":
            assert re.search(rf"plan\.kam:{words[2]}:\d+: error\[{code}\]", res.stderr), res.stderr
        assert res.stdout == ""
        return
    assert res.returncode == 0, res.stderr
    expected = _rows((folder / "expected.csv").read_text())
    assert compare(_rows(res.stdout), expected) == []
