"""What a plan may read (kamrules/files/inputs.py), through the command line: only files inside
the `--data` folder, only regular files, never blocking; nothing of a file outside the folder
ever printed. And a plan file with a UTF-8 BOM reads like one without.

Each case runs `check`, and `run` on both engines; a file outside the folder holds a marker
that must never appear in any output.
"""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import test_data_errors as data_errors  # its plan and data (tests/ is on the path)
from kamrules.files import inputs
from kamrules.cli.main import main

ROOT = Path(__file__).resolve().parent.parent.parent
MARKER = "MARKER_c0ffee_secret"
ENGINES = ("interpreter", "columnar")

PLAN = data_errors.PLAN.replace("input deals key deal_id", 'input deals from "FILE" key deal_id')
assert 'from "FILE"' in PLAN
FILE_LINE, FILE_COL = 10, 18  # where the string after `from` starts in PLAN
PEOPLE, DEALS = data_errors.PEOPLE, data_errors.GOOD_DEALS
# Outside the data folder, near the declared header: a did-you-mean would print `owner_idd`.
SECRET = f"deal_id,owner_idd,amount,close_date,margin,{MARKER}\nd1,kam-1,{MARKER},2025-01-15,,x\n"


def make(tmp_path, file="deals.csv", deals=DEALS, plan=PLAN):
    """tmp/plan.kam, tmp/data/{people,deals}.csv and tmp/outside/secret.csv (the marker)."""
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    (data / "people.csv").write_text(PEOPLE)
    if deals is not None:
        (data / "deals.csv").write_text(deals)
    outside = tmp_path / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "secret.csv").write_text(SECRET)
    (outside / "deals.csv").write_text(SECRET)
    (tmp_path / "plan.kam").write_text(plan.replace("FILE", file), encoding="utf-8")
    return tmp_path / "plan.kam", data


def cli(capsys, *args):
    rc = main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def run(capsys, plan, data, engine, *extra):
    out = plan.parent / "out.csv"
    rc, stdout, stderr = cli(capsys, "run", plan, "--data", data, "--engine", engine, "-j", "1",
                             "-q", "-o", out, *extra)
    return rc, stdout + stderr, out


def assert_nothing_leaked(text):
    assert MARKER not in text and "owner_idd" not in text, text
    assert "Traceback" not in text


# ------------------------------------------------------------------ names in the plan: KR006

ESCAPES = ["../outside/secret.csv", "/etc/passwd", "/proc/self/environ", "crm/../../outside/secret.csv",
           "..", "", ".", "C:/exports/deals.csv", "..\\\\outside\\\\secret.csv", "crm\\\\deals.csv"]


@pytest.mark.parametrize("file", ESCAPES)
def test_a_name_outside_the_folder_is_refused_by_check(tmp_path, capsys, file):
    plan, _ = make(tmp_path, file)
    rc, out, err = cli(capsys, "check", plan)
    assert rc == 1
    assert f"{plan}:{FILE_LINE}:{FILE_COL}: error[KR006]" in err, err
    assert "put the file in the data folder" in err
    assert_nothing_leaked(out + err)


def test_the_absolute_path_of_a_real_file_outside_is_refused(tmp_path, capsys):
    plan, data = make(tmp_path, str(tmp_path / "outside" / "secret.csv"))
    rc, out, err = cli(capsys, "check", plan, "--data", data)
    assert rc == 1 and "KR006" in err and "an absolute path" in err
    assert_nothing_leaked(out + err)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("file", ["../outside/secret.csv", "/etc/passwd", "/proc/self/environ",
                                  "OUTSIDE_ABS"])
def test_run_refuses_a_name_outside_the_folder(tmp_path, capsys, file, engine):
    file = str(tmp_path / "outside" / "secret.csv") if file == "OUTSIDE_ABS" else file
    plan, data = make(tmp_path, file)
    rc, text, out = run(capsys, plan, data, engine)
    assert rc == 1 and "KR006" in text and f"plan.kam:{FILE_LINE}:{FILE_COL}" in text
    assert not out.exists()
    assert_nothing_leaked(text)


def test_a_name_that_stays_inside_is_fine(tmp_path, capsys):
    plan, data = make(tmp_path, "crm/../deals.csv")
    rc, out, err = cli(capsys, "check", plan, "--data", data)
    assert rc == 0, err


def test_a_nul_byte_in_the_name_is_refused(tmp_path, capsys):
    plan, _ = make(tmp_path, "deals\x00.csv")
    rc, out, err = cli(capsys, "check", plan)
    first = err.splitlines()[0]  # the message escapes it (the source line under it: the
    assert rc == 1 and "KR006" in first and "NUL" in first and '"deals\\x00.csv"' in first  # renderer's)


def test_name_problem_unit():
    assert inputs.name_problem("deals.csv") is None
    assert inputs.name_problem("crm/2025/deals.csv") is None
    assert inputs.name_problem("a/../b.csv") is None
    assert "absolute" in inputs.name_problem("/x.csv")
    assert "`..`" in inputs.name_problem("a/../../x.csv")
    assert "backslash" in inputs.name_problem("a\\b.csv")
    assert "U+001B" in inputs.name_problem("a\x1b[2Jb.csv")


# ------------------------------------------------------------------ links: KR411

def _link_outside(tmp_path):
    plan, data = make(tmp_path, deals=None)
    os.symlink(tmp_path / "outside" / "secret.csv", data / "deals.csv")
    return plan, data


@pytest.mark.parametrize("engine", ENGINES)
def test_a_link_leading_outside_is_refused_by_run(tmp_path, capsys, engine):
    plan, data = _link_outside(tmp_path)
    rc, text, out = run(capsys, plan, data, engine)
    assert rc == 1 and "KR411" in text, text
    assert "input `deals` resolves outside the data folder" in text and "is a link" in text
    assert not out.exists()
    assert_nothing_leaked(text)


def test_a_link_leading_outside_is_refused_by_check_data(tmp_path, capsys):
    plan, data = _link_outside(tmp_path)
    rc, out, err = cli(capsys, "check", plan, "--data", data)
    assert rc == 1 and "KR411" in err
    assert_nothing_leaked(out + err)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_linked_subfolder_leading_outside_is_refused(tmp_path, capsys, engine):
    plan, data = make(tmp_path, "crm/deals.csv", deals=None)
    os.symlink(tmp_path / "outside", data / "crm")
    rc, text, out = run(capsys, plan, data, engine)
    assert rc == 1 and "KR411" in text and "crm is a link" in text, text
    assert_nothing_leaked(text)


def test_a_dangling_link_leading_outside_is_refused_without_listing_outside(tmp_path, capsys):
    plan, data = make(tmp_path, deals=None)
    os.symlink(tmp_path / "outside" / "nothing.csv", data / "deals.csv")
    rc, text, _ = run(capsys, plan, data, "interpreter")
    assert rc == 1 and "KR411" in text and "secret.csv" not in text


@pytest.mark.parametrize("engine", ENGINES)
def test_a_link_that_stays_inside_pays_the_same(tmp_path, capsys, engine):
    plan, data = make(tmp_path)
    rc, text, out = run(capsys, plan, data, engine)
    assert rc == 0, text
    plain = out.read_text()
    out.unlink()
    (data / "exports").mkdir()
    (data / "deals.csv").rename(data / "exports" / "deals.csv")
    os.symlink(Path("exports") / "deals.csv", data / "deals.csv")
    rc, text, out = run(capsys, plan, data, engine)
    assert rc == 0, text
    assert out.read_text() == plain and "100.00" in plain


def test_a_data_folder_that_is_itself_a_link_is_fine(tmp_path, capsys):
    plan, data = make(tmp_path)
    os.symlink(data, tmp_path / "data-link")
    rc, out, err = cli(capsys, "check", plan, "--data", tmp_path / "data-link")
    assert rc == 0, err


# ------------------------------------------------------------------ FIFOs, devices, folders: KR412

def _fifo(tmp_path):
    plan, data = make(tmp_path, deals=None)
    os.mkfifo(data / "deals.csv")
    return plan, data


def _in_thread(fn, timeout=20):
    """fn() in a daemon thread: its result, or a failure (never a hang) after `timeout`."""
    box = {}

    def target():
        try:
            box["rc"] = fn()
        except BaseException as err:  # noqa: BLE001 - raised again in the test's thread
            box["err"] = err
    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), "blocked on the FIFO"
    if "err" in box:
        raise box["err"]
    return box["rc"]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_fifo_is_refused_at_once_by_run(tmp_path, capsys, engine):
    plan, data = _fifo(tmp_path)
    out = tmp_path / "out.csv"
    rc = _in_thread(lambda: main(["run", str(plan), "--data", str(data), "--engine", engine, "-j", "1",
                                  "-q", "-o", str(out)]))
    err = capsys.readouterr().err
    assert rc == 1 and "KR412" in err and "FIFO" in err, err
    assert "input `deals` needs" in err and "not a regular file" in err
    assert not out.exists()


def test_a_fifo_is_refused_at_once_by_check_data(tmp_path, capsys):
    plan, data = _fifo(tmp_path)
    rc = _in_thread(lambda: main(["check", str(plan), "--data", str(data)]))
    assert rc == 1 and "KR412" in capsys.readouterr().err


def test_a_fifo_through_a_real_subprocess(tmp_path):
    plan, data = _fifo(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, "-m", "kamrules", "run", str(plan), "--data", str(data), "-q"],
                         capture_output=True, text=True, env=env, timeout=20)
    assert res.returncode == 1 and "KR412" in res.stderr and res.stdout == ""


def test_a_plan_that_is_a_fifo_is_refused_at_once(tmp_path, capsys):
    os.mkfifo(tmp_path / "plan.kam")
    rc = _in_thread(lambda: main(["check", str(tmp_path / "plan.kam")]))
    assert rc == 1 and "KR401" in capsys.readouterr().err


def test_the_fifo_swapped_in_after_the_stat_is_refused_by_fstat(tmp_path, monkeypatch):
    """stat says regular, the open finds a FIFO: open with O_NONBLOCK, fstat refuses it."""
    os.mkfifo(tmp_path / "deals.csv")
    regular = os.stat(__file__)
    monkeypatch.setattr(inputs.os, "lstat", lambda p: regular)
    with pytest.raises(inputs.NotRegular) as err:
        _in_thread(lambda: inputs.open_regular(str(tmp_path / "deals.csv"), follow=False))
    assert stat.S_ISFIFO(err.value.mode)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_folder_named_like_the_file_is_refused(tmp_path, capsys, engine):
    plan, data = make(tmp_path, deals=None)
    (data / "deals.csv").mkdir()
    rc, text, out = run(capsys, plan, data, engine)
    assert rc == 1 and "KR401" in text and "deals.csv, which is a folder" in text, text
    assert not out.exists()


def test_a_device_is_refused(tmp_path, capsys):
    """A character device inside the folder (a link to one leads outside: KR411 first)."""
    plan, data = make(tmp_path, deals=None)
    os.symlink("/dev/zero", data / "deals.csv")
    rc = _in_thread(lambda: main(["check", str(plan), "--data", str(data)]))
    assert rc == 1 and "KR411" in capsys.readouterr().err
    assert stat.S_ISCHR(os.stat("/dev/zero").st_mode)  # only read, never replaced
    with pytest.raises(inputs.NotRegular) as err:
        inputs.open_regular("/dev/zero")
    assert "character device" in str(err.value)


# ------------------------------------------------------------------ the data folder itself

@pytest.mark.parametrize("engine", ENGINES)
def test_data_that_is_a_file_or_missing(tmp_path, capsys, engine):
    plan, data = make(tmp_path)
    rc, text, out = run(capsys, plan, data / "people.csv", engine)
    assert rc == 1 and "KR401" in text and "is a file, not a folder" in text, text
    rc, text, out = run(capsys, plan, tmp_path / "nowhere", engine)
    assert rc == 1 and "KR401" in text and "does not exist" in text, text
    assert not out.exists()


# ------------------------------------------------------------------ a plan with a BOM

def test_a_plan_with_a_bom_reads_like_one_without(tmp_path, capsys):
    plan, data = make(tmp_path)
    bom = tmp_path / "bom" / "plan.kam"
    bom.parent.mkdir()
    bom.write_bytes(b"\xef\xbb\xbf" + plan.read_bytes())
    for engine in ENGINES:
        outs = []
        for p in (plan, bom):
            rc, text, out = run(capsys, p, data, engine)
            assert rc == 0, text
            outs.append(out.read_text())
        assert outs[0] == outs[1] and "100.00" in outs[0]
    assert cli(capsys, "check", plan)[0] == cli(capsys, "check", bom)[0] == 0


def test_a_plan_with_a_bom_points_at_the_same_columns(tmp_path, capsys):
    plan, _ = make(tmp_path, "../x.csv")
    rc, _, plain = cli(capsys, "check", plan)
    plan.write_bytes(b"\xef\xbb\xbf" + plan.read_bytes())
    rc2, _, bom = cli(capsys, "check", plan)
    assert rc == rc2 == 1 and plain == bom and "\ufeff" not in bom


def test_fmt_keeps_one_bom(tmp_path, capsys):
    plan, _ = make(tmp_path)
    assert cli(capsys, "fmt", plan)[0] == 0
    formatted = plan.read_bytes()
    plan.write_bytes(b"\xef\xbb\xbf" + formatted)
    rc, out, err = cli(capsys, "fmt", "--check", plan)
    assert rc == 0 and "would reformat" not in out, out + err
    plan.write_bytes(b"\xef\xbb\xbf" + formatted.replace(b"\n\n", b"\n\n\n"))
    assert cli(capsys, "fmt", plan)[0] == 0
    assert plan.read_bytes() == b"\xef\xbb\xbf" + formatted


def test_fmt_reports_a_syntax_error_in_a_bom_plan_like_without(tmp_path, capsys):
    bad = 'plan "x"\ncurrency EUR\nparam cap = EUR 5000\n'
    (tmp_path / "a.kam").write_text(bad)
    (tmp_path / "b.kam").write_bytes(b"\xef\xbb\xbf" + bad.encode())
    rc_a, _, err_a = cli(capsys, "fmt", tmp_path / "a.kam")
    rc_b, _, err_b = cli(capsys, "fmt", tmp_path / "b.kam")
    assert rc_a == rc_b == 1 and err_a.replace("a.kam", "b.kam") == err_b


@pytest.mark.parametrize("engine", ENGINES)
def test_parquet_inputs_follow_the_same_rules(tmp_path, capsys, engine):
    import polars as pl
    plan, data = make(tmp_path, "deals.parquet", deals=None)
    pl.DataFrame({"deal_id": ["d1"], "owner_idd": ["kam-1"], "amount": [MARKER],
                  "close_date": ["2025-01-15"], "margin": [""]}).write_parquet(tmp_path / "outside" / "deals.parquet")
    os.symlink(tmp_path / "outside" / "deals.parquet", data / "deals.parquet")
    rc, text, _ = run(capsys, plan, data, engine)
    assert rc == 1 and "KR411" in text, text
    assert_nothing_leaked(text)
    (data / "deals.parquet").unlink()
    os.mkfifo(data / "deals.parquet")
    rc, text, _ = _in_thread(lambda: run(capsys, plan, data, engine))
    assert rc == 1 and "KR412" in text, text


def test_a_missing_or_unreadable_plan_is_said_in_words_never_errno(tmp_path, capsys):
    from kamrules.cli.main import main
    (tmp_path / "plan.kam").write_text('plan "P"\n', encoding="utf-8")
    (tmp_path / "latin1.kam").write_bytes(b'plan "\xe9"\n')
    cases = {"plann.kam": ("plan file", "does not exist", "did you mean `plan.kam`?"),
             "latin1.kam": ("is not UTF-8 text", "save the plan as UTF-8", ""),
             ".": ("is a folder", "", "")}
    for name, wanted in cases.items():
        rc = main(["check", str(tmp_path / name)])
        err = capsys.readouterr().err
        assert rc == 1 and "error[KR401]" in err and "Errno" not in err
        assert all(w in err for w in wanted), err
