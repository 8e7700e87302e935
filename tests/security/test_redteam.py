"""Red team: new variants of the issue-13 classes, through the command line.

Each test is a case that broke on the merged fixes and what it does now. Test cases of
`kamrules test` (case folders, case.toml, expected.csv, a `data` folder) come with the plan
from whoever wrote it: they are read only under the plan's folder, only as regular files.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import test_data_errors as data_errors  # its plan and data (tests/ is on the path)
from kamrules.cli.main import main

ROOT = Path(__file__).resolve().parent.parent.parent
MARKER = "MARKER_redteam_secret"
EXPECTED = "payee_id,period,component,amount\nkam-1,2025-Q1,commission,100.00\nkam-2,2025-Q1,commission,10.00\n"


def cli(capsys, *args):
    rc = main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out + out.err


def plan_with_case(tmp_path, case="c1"):
    """tmp/plans/plan.kam with tests/plan/<case>/ holding the data and expected.csv, and
    tmp/outside/ holding files near the plan's columns with the marker."""
    plans = tmp_path / "plans"
    folder = plans / "tests" / "plan" / case
    folder.mkdir(parents=True)
    (plans / "plan.kam").write_text(data_errors.PLAN)
    (folder / "people.csv").write_text(data_errors.PEOPLE)
    (folder / "deals.csv").write_text(data_errors.GOOD_DEALS)
    (folder / "expected.csv").write_text(EXPECTED)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "people.csv").write_text(f"payee_idd,{MARKER}\nkam-1,{MARKER}\n")
    (outside / "deals.csv").write_text(f"deal_idd,{MARKER}\n")
    (outside / "expected.csv").write_text(f"payee_id,period,component,amount\n{MARKER},2025-Q1,x,{MARKER}\n")
    return plans, folder, outside


# ---------------------------------------------------------------- kamrules test: reads

def test_plan_case_passes_as_is(tmp_path, capsys):
    plans, _, _ = plan_with_case(tmp_path)
    rc, out = cli(capsys, "test", plans)
    assert rc == 0, out


@pytest.mark.parametrize("how", ["data-dotdot", "data-absolute", "case-link", "expected-link",
                                 "case-toml-link", "tests-link"])
def test_test_case_never_reads_outside_the_plan_folder(tmp_path, capsys, how):
    plans, folder, outside = plan_with_case(tmp_path)
    if how == "data-dotdot":
        os.remove(folder / "deals.csv"), os.remove(folder / "people.csv")
        (folder / "case.toml").write_text('data = "../../../../outside"\n')
    elif how == "data-absolute":
        os.remove(folder / "deals.csv"), os.remove(folder / "people.csv")
        (folder / "case.toml").write_text(f'data = "{outside}"\n')
    elif how == "case-link":
        (folder.parent / "c2").symlink_to(outside)
    elif how == "expected-link":
        os.remove(folder / "expected.csv")
        (folder / "expected.csv").symlink_to(outside / "expected.csv")
    elif how == "case-toml-link":
        (outside / "case.toml").write_text(f'description = "{MARKER}"\nperiod = "{MARKER}"\n')
        (folder / "case.toml").symlink_to(outside / "case.toml")
    else:  # plans/tests is a link to a folder outside
        os.rename(plans / "tests", outside / "tests")
        (plans / "tests").symlink_to(outside / "tests")
        (outside / "tests" / "plan" / "c1" / "deals.csv").write_text(f"deal_idd,{MARKER}\n")
    rc, out = cli(capsys, "test", plans)
    assert rc == 1, out
    assert "KR411" in out and "outside the folder of plan" in out, out
    assert MARKER not in out and "Traceback" not in out


def test_test_case_data_may_be_another_case_of_the_plan_folder(tmp_path, capsys):
    plans, folder, _ = plan_with_case(tmp_path)
    other = plans / "tests" / "plan" / "c2"
    other.mkdir()
    (other / "expected.csv").write_text(EXPECTED)
    (other / "case.toml").write_text('data = "../c1"\n')
    rc, out = cli(capsys, "test", plans)
    assert rc == 0, out


@pytest.mark.parametrize("name", ["case.toml", "expected.csv"])
def test_test_case_file_that_is_a_fifo_does_not_hang(tmp_path, name):
    plans, folder, _ = plan_with_case(tmp_path)
    if (folder / name).exists():
        os.remove(folder / name)
    os.mkfifo(folder / name)
    res = subprocess.run([sys.executable, "-m", "kamrules", "test", str(plans)], capture_output=True,
                         text=True, timeout=20, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert res.returncode == 1, res.stdout + res.stderr
    assert "KR412" in res.stdout + res.stderr and "FIFO" in res.stdout + res.stderr
    assert "Traceback" not in res.stderr


# ---------------------------------------------------------------- statement --all: file names

def test_statement_all_never_gives_a_payee_the_file_of_another(tmp_path, capsys):
    """`a/b` used to take a_b.md and push payee `a_b` to a_b_.md: a statement sent by file
    name went to the wrong person. `../../x` stays inside the folder."""
    ids = ["a/b", "a_b", "Z", "z", "../../x"]
    people = "payee_id,rate\n" + "".join(f"{pid},10%\n" for pid in ids)
    deals = data_errors.DEALS_HEADER + "".join(f"d{i},{pid},{100 * (i + 1)},2025-01-15,\n"
                                               for i, pid in enumerate(ids))
    plan, data = data_errors.setup(tmp_path, deals=deals, people=people)
    out = tmp_path / "st"
    rc, text = cli(capsys, "statement", plan, "--data", data, "--all", "-o", out, "--format", "text")
    assert rc == 0, text
    files = sorted(os.listdir(out))
    assert len(files) == len(ids) and len({f.casefold() for f in files}) == len(ids), files
    assert "statement: a_b\n" in (out / "a_b.txt").read_text()  # payee a_b, not a/b
    assert "statement: a/b\n" in (out / "a_b_.txt").read_text()
    assert not (tmp_path.parent / "x.txt").exists()


# ---------------------------------------------------------------- the calendar's first year

PREVIOUS_PLAN = data_errors.PLAN.replace("and close_date in period)",
                                        "and close_date in period and close_date > period.previous.end)")


@pytest.mark.parametrize("engine", ["interpreter", "columnar", "auto"])
def test_period_previous_before_year_one_is_kr413_on_every_engine(tmp_path, capsys, engine):
    """A deal of 0001-01-15 is in range; `period.previous` of 0001-Q1 is not. The columnar
    engine raised OverflowError (a traceback); now every engine stops with KR413."""
    assert PREVIOUS_PLAN != data_errors.PLAN
    deals = data_errors.DEALS_HEADER + "d1,kam-1,1000.00,0001-01-15,\n"
    plan, data = data_errors.setup(tmp_path, deals=deals, plan=PREVIOUS_PLAN)
    rc, out = cli(capsys, "run", plan, "--data", data, "--engine", engine, "-o", tmp_path / "out.csv")
    assert rc == 1, out
    assert "KR413" in out and "0001-Q1" in out and "Traceback" not in out
    assert not (tmp_path / "out.csv").exists()


# ---------------------------------------------------------------- periods: a look back pays later

def test_previous_year_pays_the_quarter_after_the_data(tmp_path, capsys):
    """`close_date in period.previous.year` (quarterly): a 2025 deal pays in 2025-Q2 to
    2026-Q1. The reach was cut at the data's last quarter (2025-Q4): 2026-Q1 was silently
    dropped, and `--period 2026-Q1` was refused with KR721."""
    plan_text = data_errors.PLAN.replace("and close_date in period)", "and close_date in period.previous.year)")
    assert plan_text != data_errors.PLAN
    deals = data_errors.DEALS_HEADER + "d1,kam-1,1000.00,2025-02-15,\nd2,kam-1,500.00,2025-12-15,\n"
    plan, data = data_errors.setup(tmp_path, deals=deals, plan=plan_text)
    for engine in ("interpreter", "columnar"):
        rc, out = cli(capsys, "run", plan, "--data", data, "--engine", engine, "--format", "csv")
        assert rc == 0, out
        assert "kam-1,2026-Q1,commission,150.00,EUR" in out, out
        assert "2026-Q2" not in out
    rc, out = cli(capsys, "run", plan, "--data", data, "--period", "2026-Q1", "--format", "csv")
    assert rc == 0 and "kam-1,2026-Q1,commission,150.00,EUR" in out, out


# ---------------------------------------------------------------- test --junit-xml: names

def test_junit_xml_of_a_case_folder_named_with_controls_is_well_formed(tmp_path, capsys):
    """A case folder named `c<ESC>[2J<BEL><CR>` went raw into the name and file attributes:
    the XML was not well-formed (XML 1.0 cannot hold ESC or BEL)."""
    import xml.dom.minidom
    plans, folder, _ = plan_with_case(tmp_path, case="c\x1b[2J\x07\r")
    report = tmp_path / "report.xml"
    rc, out = cli(capsys, "test", plans, "--junit-xml", report)
    assert rc == 0, out
    assert "\x1b" not in out and "\x07" not in out
    case = xml.dom.minidom.parse(str(report)).getElementsByTagName("testcase")[0]
    assert case.getAttribute("name") == "c\\x1b[2J\\x07\\r"


def test_test_on_a_plan_that_is_a_fifo_says_what_it_is(tmp_path, capsys):
    os.mkfifo(tmp_path / "plan.kam")
    rc, out = cli(capsys, "test", tmp_path / "plan.kam")
    assert rc == 1 and "is a FIFO (named pipe), not a plan file" in out, out
