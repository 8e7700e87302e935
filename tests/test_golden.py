"""Golden diagnostics: each tests/golden/<name>.kam is a bad (or suspicious) plan and
<name>.expected is the exact text `kamrules check <name>.kam` prints, run from tests/golden.

Regenerate after a deliberate change of wording: KAMRULES_UPDATE_GOLDEN=1 python -m pytest
tests/test_golden.py, then review the diff of the .expected files before committing.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from kamrules.cli.main import main

GOLDEN = Path(__file__).resolve().parent / "golden"
CASES = sorted(p.stem for p in GOLDEN.glob("*.kam"))
UPDATE = os.environ.get("KAMRULES_UPDATE_GOLDEN") == "1"


def _check(name, capsys, monkeypatch):
    monkeypatch.chdir(GOLDEN)
    code = main(["check", f"{name}.kam"])
    out = capsys.readouterr()
    assert out.out == ""  # text findings go to stderr
    return code, out.err


@pytest.mark.parametrize("name", CASES)
def test_golden(name, capsys, monkeypatch):
    code, text = _check(name, capsys, monkeypatch)
    expected = GOLDEN / f"{name}.expected"
    if UPDATE:
        expected.write_text(text, encoding="utf-8")
    assert text == expected.read_text(encoding="utf-8")
    assert "Traceback" not in text
    # exit code follows the findings: 1 on any error, 0 on warnings only
    assert code == (1 if "error[KR" in text else 0)


def test_golden_covers_the_brief():
    """At least 20 bad plans, every lint and every static error family has a golden file."""
    assert len(CASES) >= 20
    texts = "".join((GOLDEN / f"{n}.expected").read_text(encoding="utf-8") for n in CASES)
    for code in ["KR001", "KR003", "KR004", "KR101", "KR102", "KR103", "KR104", "KR105", "KR201",
                 "KR202", "KR203", "KR204", "KR301", "KR302", "KR303", "KR304",
                 "KR501", "KR502", "KR503", "KR504", "KR505", "KR506"]:
        assert f"[{code}]" in texts, code
    assert "did you mean `payout_rate`?" in texts
    assert "write the amount with its currency: `0 EUR`" in texts  # the user's own number


def test_expected_files_have_their_plan():
    orphans = sorted(p.stem for p in GOLDEN.glob("*.expected") if p.stem not in CASES)
    assert orphans == []
