"""Outputs (issue 13, security 2): every path kamrules writes goes through kamrules/files/outputs.py.

A regular file or a new path is replaced atomically (no temporary file left, the mode kept);
a FIFO or a character device is streamed to and stays what it is; a symbolic link, a folder,
the plan or an input is refused before anything is written; a full disk, a missing folder, a
FIFO without a reader, a closed stdout: a diagnostic (or a quiet stop for the closed pipe),
never a traceback, never a partial file. Devices are only ever our own FIFOs and /dev/full
(writing to it fails with ENOSPC and changes nothing); /dev/null is classified, not written.
"""
from __future__ import annotations

import errno
import os
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import ROOT
from kamrules.files import outputs
from kamrules.cli.main import main
from kamrules.diagnostics.diagnostic import KamError
# the small plan of the data-error tests: two payees, rate x deals closed in the period
from test_data_errors import GOOD_DEALS as DEALS, PEOPLE, PLAN

EXPECTED = ("payee_id,period,component,amount,currency\n"
            "kam-1,2025-Q1,commission,100.00,EUR\nkam-1,2025-Q1,total,100.00,EUR\n"
            "kam-2,2025-Q1,commission,10.00,EUR\nkam-2,2025-Q1,total,10.00,EUR\n")


@pytest.fixture
def work(tmp_path):
    (tmp_path / "plan.kam").write_text(PLAN, encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    (data / "people.csv").write_text(PEOPLE, encoding="utf-8")
    (data / "deals.csv").write_text(DEALS, encoding="utf-8")
    return tmp_path


def kr(capsys, *args):
    """(exit code, stdout, stderr) of an in-process `kamrules ARGS`."""
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return rc, out, err


def run(work, capsys, *extra):
    return kr(capsys, "run", work / "plan.kam", "--data", work / "data", *extra)


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): (p.read_bytes() if p.is_file() and not p.is_symlink() else os.readlink(p)
                                     if p.is_symlink() else None)
            for p in sorted(folder.rglob("*"))}


def no_temp_files(folder: Path):
    return not [p for p in folder.rglob("*") if p.name.startswith(outputs.TEMP_PREFIX)]


# ---------------------------------------------------------------- regular files

def test_a_new_file_is_written_atomically_with_the_umask_mode(work, capsys):
    rc, out, err = run(work, capsys, "-o", work / "out.csv")
    assert rc == 0 and out == "" and err == ""
    assert (work / "out.csv").read_text() == EXPECTED
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((work / "out.csv").stat().st_mode) == 0o666 & ~mask
    assert no_temp_files(work)


def test_an_existing_file_is_replaced_and_keeps_its_mode(work, capsys):
    target = work / "out.csv"
    target.write_text("old\n")
    target.chmod(0o640)
    old_inode = target.stat().st_ino
    rc, _, _ = run(work, capsys, "-o", target)
    assert rc == 0 and target.read_text() == EXPECTED
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.stat().st_ino != old_inode  # renamed over, not rewritten in place
    assert no_temp_files(work)


def test_a_full_disk_leaves_the_old_file_and_no_temporary_file(work, capsys, monkeypatch):
    target = work / "out.csv"
    target.write_text("old\n")
    real_fsync = os.fsync

    def full(fd):
        if stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)
    monkeypatch.setattr(os, "fsync", full)
    rc, _, err = run(work, capsys, "-o", target)
    assert rc == 1 and "KR701" in err and "No space left on device" in err and str(target) in err
    assert target.read_text() == "old\n" and no_temp_files(work)


def test_an_interrupt_while_writing_removes_the_temporary_file(work, capsys, monkeypatch):
    target = work / "out.csv"
    target.write_text("old\n")
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(KeyboardInterrupt()))
    rc, _, _ = run(work, capsys, "-o", target)
    assert rc == 130 and target.read_text() == "old\n" and no_temp_files(work)


def test_a_missing_folder_or_no_permission_is_a_diagnostic(work, capsys):
    rc, _, err = run(work, capsys, "-o", work / "nowhere" / "out.csv")
    assert rc == 1 and "KR701" in err and "nowhere" in err and "does not exist" in err
    if os.geteuid() != 0:  # root writes anywhere
        locked = work / "locked"
        locked.mkdir(mode=0o500)
        rc, _, err = run(work, capsys, "-o", locked / "out.csv")
        assert rc == 1 and "KR701" in err and "ermission" in err
    assert not (work / "nowhere").exists()


def test_a_read_only_file_is_not_replaced(work, capsys, monkeypatch):
    target = work / "out.csv"
    target.write_text("locked\n")
    target.chmod(0o444)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if str(p) == str(target) else real_access(p, m))
    rc, _, err = run(work, capsys, "-o", target)  # (root may write anything: os.access decides)
    assert rc == 1 and "KR701" in err and "read-only" in err
    assert target.read_text() == "locked\n" and no_temp_files(work)


def test_a_folder_where_a_file_is_expected(work, capsys):
    (work / "dir").mkdir()
    rc, _, err = run(work, capsys, "-o", work / "dir")
    assert rc == 1 and "KR704" in err and "dir" in err
    assert list((work / "dir").iterdir()) == []
    rc, _, err = run(work, capsys, "-o", f"{work / 'new'}/")
    assert rc == 1 and "KR704" in err and not (work / "new").exists()


# ---------------------------------------------------------------- links, inputs, the plan

def test_a_symlink_is_refused_and_left_as_it_is(work, capsys):
    target = work / "real.csv"
    target.write_text("keep\n")
    (work / "link.csv").symlink_to(target)
    rc, _, err = run(work, capsys, "-o", work / "link.csv")
    assert rc == 1 and "KR703" in err and str(target) in err  # the hint names the target
    assert (work / "link.csv").is_symlink() and os.readlink(work / "link.csv") == str(target)
    assert target.read_text() == "keep\n"


@pytest.mark.parametrize("victim", ["plan.kam", "data/deals.csv", "data/people.csv"])
def test_the_plan_or_an_input_is_refused_before_anything_is_written(work, capsys, victim):
    before = snapshot(work)
    rc, out, err = run(work, capsys, "-o", work / victim)
    assert rc == 1 and "KR702" in err and victim.split("/")[-1] in err
    assert ("the plan" in err) if victim == "plan.kam" else ("input `" in err)
    assert snapshot(work) == before and out == ""


def test_an_input_reached_through_a_link_is_refused_too(work, capsys):
    os.link(work / "data" / "deals.csv", work / "hard.csv")
    (work / "soft.csv").symlink_to(work / "plan.kam")
    before = snapshot(work)
    for path in ("hard.csv", "soft.csv", "data/../plan.kam"):
        rc, _, err = run(work, capsys, "-o", work / path)
        assert rc == 1 and "KR702" in err, path
    assert snapshot(work) == before


def test_the_refusal_comes_before_the_run(work, capsys):
    (work / "data" / "deals.csv").write_text("deal_id,owner_id,amount,close_date\nd1,kam-1,12x,2025-01-15\n")
    rc, _, err = run(work, capsys, "-o", work / "plan.kam")
    assert rc == 1 and "KR702" in err and "KR403" not in err


def test_every_command_guards_its_outputs(work, capsys):
    plan, data = work / "plan.kam", work / "data"
    before = snapshot(work)
    cases = [("explain", plan, "--data", data, "--payee", "kam-1", "-o", plan),
             ("statement", plan, "--data", data, "--payee", "kam-1", "-o", data / "deals.csv"),
             ("team", plan, "--data", data, "-o", plan),
             ("diff", plan, plan, "--data", data, "-o", data / "people.csv"),
             ("simulate", plan, "--data", data, "-o", plan),
             ("run", plan, "--data", data, "--engine", "interpreter", "-o", data / "deals.csv")]
    for args in cases:
        rc, _, err = kr(capsys, *args)
        assert rc == 1 and "KR702" in err, args[0]
    assert snapshot(work) == before


def test_junit_xml_onto_the_plan_is_refused(capsys):
    plan = ROOT / "plans" / "team-bonus.kam"
    before = plan.read_bytes()
    rc, out, err = kr(capsys, "test", plan, "--junit-xml", plan)
    assert rc == 1 and "KR702" in err and out == ""
    assert plan.read_bytes() == before


def test_fmt_refuses_a_plan_that_is_a_symlink(work, capsys):
    (work / "messy.kam").write_text(PLAN.replace("currency EUR", "currency   EUR"))
    (work / "link.kam").symlink_to(work / "messy.kam")
    rc, _, err = kr(capsys, "fmt", work / "link.kam")
    assert rc == 1 and "KR703" in err and str(work / "messy.kam") in err
    assert (work / "link.kam").is_symlink() and "currency   EUR" in (work / "messy.kam").read_text()
    rc, _, err = kr(capsys, "fmt", work / "messy.kam")  # the file itself is rewritten in place
    assert rc == 0 and "currency EUR" in (work / "messy.kam").read_text() and no_temp_files(work)


# ---------------------------------------------------------------- streams

def test_a_fifo_with_a_reader_is_streamed_and_stays_a_fifo(work, capsys):
    fifo = work / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    rc, _, err = run(work, capsys, "-o", fifo)
    reader.join(10)
    assert rc == 0 and err == "" and got == [EXPECTED.encode()]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and no_temp_files(work)


def test_a_fifo_without_reader_is_a_diagnostic_not_a_hang(work, capsys, monkeypatch):
    monkeypatch.setattr(outputs, "FIFO_READER_WAIT", 0.2)
    fifo = work / "pipe"
    os.mkfifo(fifo)
    result = []
    t = threading.Thread(target=lambda: result.append(run(work, capsys, "-o", fifo)), daemon=True)
    t.start()
    t.join(30)
    assert not t.is_alive(), "kamrules hangs on a FIFO nobody reads"
    rc, _, err = result[0]
    assert rc == 1 and "KR708" in err and "pipe" in err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_dev_full_is_streamed_and_fails_with_a_diagnostic(work, capsys):
    if not os.path.exists("/dev/full") or not stat.S_ISCHR(os.lstat("/dev/full").st_mode):
        pytest.skip("no /dev/full character device here")
    rc, _, err = run(work, capsys, "-o", "/dev/full")
    assert rc == 1 and "KR701" in err and "No space left on device" in err
    assert stat.S_ISCHR(os.lstat("/dev/full").st_mode)


def test_devices_and_stdout_names_are_streams_classified_without_writing():
    null = os.lstat("/dev/null")
    assert outputs.classify("/dev/null").kind == "stream" and not outputs.classify("/dev/null").fifo
    assert os.lstat("/dev/null").st_mode == null.st_mode and stat.S_ISCHR(null.st_mode)
    for name in ("-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"):
        t = outputs.classify(name)
        assert (t.kind, t.fd) == ("fd", 1), name
    assert outputs.classify("/dev/stderr").fd == 2


def test_a_socket_is_refused(tmp_path):
    path = os.path.join("/tmp", f"kr-out-{os.getpid()}.sock")
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(path)
        with pytest.raises(KamError) as err:
            outputs.classify(path)
        assert err.value.diagnostics[0].code == "KR706"
    finally:
        s.close()
        os.unlink(path)


def test_a_full_disk_on_stdout_is_a_diagnostic(work, capsys, monkeypatch):
    class Full:
        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

        def flush(self):
            pass
    monkeypatch.setattr(sys, "stdout", Full())
    rc = main(["run", str(work / "plan.kam"), "--data", str(work / "data")])
    err = capsys.readouterr().err
    assert rc == 1 and "KR701" in err and "standard output" in err and "Traceback" not in err


def test_a_closed_stdout_pipe_ends_quietly():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "kamrules", "run", "plans/abtasty-kam.kam", "--data",
                             "examples/01-abtasty-nrr-upsell", "--format", "json", "--trace"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline()  # `| head -1`: one line, then the reader goes away
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(60) == 0
    assert "Traceback" not in err and "Exception ignored" not in err and "BrokenPipe" not in err


def test_stdout_on_a_full_device_is_one_diagnostic_at_exit_too():
    if not os.path.exists("/dev/full") or not stat.S_ISCHR(os.lstat("/dev/full").st_mode):
        pytest.skip("no /dev/full character device here")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PYTHONUNBUFFERED", None)  # the buffered case: the last flush happens at exit
    with open("/dev/full", "w") as full:  # a character device: opened for writing, never replaced
        res = subprocess.run([sys.executable, "-m", "kamrules", "check", "--output-format", "json",
                              "plans/team-bonus.kam"], cwd=ROOT, env=env, stdout=full,
                             stderr=subprocess.PIPE, text=True, timeout=60)
    assert res.returncode == 1 and "KR701" in res.stderr and "standard output" in res.stderr
    assert "Traceback" not in res.stderr and "Exception ignored" not in res.stderr
    assert stat.S_ISCHR(os.lstat("/dev/full").st_mode)


# ---------------------------------------------------------------- folders of files

def test_trace_dir_onto_a_file_or_a_foreign_folder_is_refused(work, capsys):
    pytest.importorskip("polars")
    (work / "t.csv").write_text("x\n")
    rc, _, err = run(work, capsys, "--trace-dir", work / "t.csv")
    assert rc == 1 and "KR705" in err and (work / "t.csv").read_text() == "x\n"
    (work / "mine").mkdir()
    (work / "mine" / "notes.txt").write_text("mine\n")
    rc, _, err = run(work, capsys, "--trace-dir", work / "mine")
    assert rc == 1 and "KR707" in err and "notes.txt" in err
    assert sorted(p.name for p in (work / "mine").iterdir()) == ["notes.txt"]
    rc, _, err = run(work, capsys, "--trace-dir", work / "data")
    assert rc == 1 and "KR707" in err


def test_trace_dir_is_written_whole_and_may_be_written_again(work, capsys):
    pytest.importorskip("polars")
    for _ in range(2):
        rc, out, _ = run(work, capsys, "--trace-dir", work / "t", "-o", work / "out.csv")
        assert rc == 0 and sorted(p.name for p in (work / "t").iterdir()) == sorted(outputs.TRACE_FILES)
    assert (work / "out.csv").read_text() == EXPECTED and no_temp_files(work)


def test_statement_all_into_a_file_or_over_a_link_is_refused(work, capsys):
    args = ("statement", work / "plan.kam", "--data", work / "data", "--all", "--format", "md")
    (work / "f.md").write_text("x\n")
    rc, _, err = kr(capsys, *args, "-o", work / "f.md")
    assert rc == 1 and "KR705" in err and (work / "f.md").read_text() == "x\n"
    folder = work / "st"
    folder.mkdir()
    (folder / "kam-2.md").symlink_to(work / "f.md")
    rc, _, err = kr(capsys, *args, "-o", folder)
    assert rc == 1 and "KR703" in err
    assert sorted(p.name for p in folder.iterdir()) == ["kam-2.md"]  # kam-1.md not written either
    (folder / "kam-2.md").unlink()
    rc, _, _ = kr(capsys, *args, "-o", folder)
    assert rc == 0 and sorted(p.name for p in folder.iterdir()) == ["kam-1.md", "kam-2.md"]
    assert no_temp_files(work)
