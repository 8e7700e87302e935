"""docs/payroll.md: its ```session blocks (commands that write a ledger) run in page order in
one scratch folder holding copies of plans/, examples/ and docs/examples/, and print what the
page says (the ```console blocks, read-only, run from the repository root in test_docs.py)."""
from __future__ import annotations

import shlex
import shutil

from conftest import ROOT, run_cli
from test_docs import _blocks, _commands, _matches

PAGE = ROOT / "docs" / "payroll.md"


def test_the_payroll_walkthrough_runs_as_written(tmp_path):
    for folder in ("plans", "examples/02-media-advance", "docs/examples/media-corrected"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    ran = 0
    for lang, attrs, text, line in _blocks(PAGE):
        if lang != "session":
            continue
        for cmd, want in _commands(text):
            argv = shlex.split(cmd)
            assert argv[0] == "kamrules"
            res = run_cli(*argv[1:], cwd=tmp_path)
            assert res.returncode == int(attrs.get("exit", 0)), f"payroll.md:{line}: `{cmd}`\n{res.stderr}"
            while want and want[-1] == "":
                want = want[:-1]
            assert _matches(res.stdout.splitlines(), want), f"payroll.md:{line}: `{cmd}` printed\n{res.stdout}"
            ran += 1
    assert ran >= 10
    assert run_cli("ledger", "verify", "ledger", cwd=tmp_path).returncode == 0
