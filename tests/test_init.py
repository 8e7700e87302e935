"""`kamrules init`: every template makes a project that checks clean, passes its test and runs,
at once; the hand-derived payouts of its test case are what `run` prints; a folder that is
not empty is refused with nothing written."""
from __future__ import annotations

import csv
import io
import os
import re
import shlex
import tomllib
from decimal import Decimal
from pathlib import Path, PurePosixPath

import pytest

from conftest import ROOT, run_cli
from kamrules.cli.init import DEFAULT, TEMPLATES

TEMPLATE_DIR = ROOT / "kamrules" / "templates"


def _tree(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _rows(text: str) -> dict:
    """(payee, period, component) -> amount of the non-total rows of a payout CSV."""
    return {(r["payee_id"], r["period"], r["component"]): Decimal(r["amount"])
            for r in csv.DictReader(io.StringIO(text)) if r["component"] != "total"}


def test_the_templates_are_the_folders_and_list_names_them_all():
    assert sorted(TEMPLATES) == sorted(p.name for p in TEMPLATE_DIR.iterdir() if p.is_dir()
                                       and p.name != "__pycache__")
    assert len(TEMPLATES) >= 5 and DEFAULT in TEMPLATES
    res = run_cli("init", "--list")
    assert res.returncode == 0, res.stderr
    assert [line.split()[0] for line in res.stdout.splitlines()] == list(TEMPLATES)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_a_new_project_checks_tests_and_runs_the_hand_derived_payouts(name, tmp_path):
    res = run_cli("init", "proj", "--template", name, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    proj = tmp_path / "proj"
    plan = f"{name}.kam"
    assert {".pre-commit-config.yaml", "README.md", plan, f"tests/{name}/example/expected.csv"} \
        <= set(_tree(proj))
    assert run_cli("check", "--strict", plan, cwd=proj).returncode == 0
    assert run_cli("fmt", "--check", plan, cwd=proj).returncode == 0
    tested = run_cli("test", ".", cwd=proj)
    assert tested.returncode == 0, tested.stdout
    assert tested.stdout.startswith(f"PASS  {name}::example") and "1 passed" in tested.stdout

    # The expected payouts are derived by hand (a note on every row) and are what `run` prints:
    # every row it lists, and nothing else that is not zero.
    expected_text = (proj / "tests" / name / "example" / "expected.csv").read_text(encoding="utf-8")
    for row in csv.DictReader(io.StringIO(expected_text)):
        assert row["note"].strip(), f"{name}: {row['payee_id']} {row['component']} has no note"
    expected = _rows(expected_text)
    run = run_cli("run", plan, "--data", "data", cwd=proj)
    assert run.returncode == 0, run.stderr
    computed = _rows(run.stdout)
    assert {k: v for k, v in computed.items() if v or k in expected} == expected
    assert any(expected.values())

    # The runner checks those hand-derived values: one cent off and the case fails.
    key = next(k for k, v in expected.items() if v)
    cent_off = expected_text.replace(f"{expected[key]:.2f}", f"{expected[key] + Decimal('0.01'):.2f}", 1)
    (proj / "tests" / name / "example" / "expected.csv").write_text(cent_off, encoding="utf-8")
    failed = run_cli("test", ".", cwd=proj)
    assert failed.returncode == 1 and "FAIL" in failed.stdout and "-0.01" in failed.stdout


@pytest.mark.parametrize("name", [DEFAULT, "pool"])
def test_the_readme_commands_run_in_the_project(name, tmp_path):
    assert run_cli("init", "p", "--template", name, cwd=tmp_path).returncode == 0
    readme = (tmp_path / "p" / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"^\$ (kamrules .*)$", readme, re.M)
    assert len(commands) >= 4 and "$" not in readme.replace("$ kamrules", "")
    for command in commands:
        res = run_cli(*shlex.split(command)[1:], cwd=tmp_path / "p")
        assert res.returncode == 0, f"{command}: {res.stderr}"


def test_the_pre_commit_configuration_runs_check_fmt_and_test(tmp_path):
    assert run_cli("init", "p", cwd=tmp_path).returncode == 0
    text = (tmp_path / "p" / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    entries = re.findall(r"entry: (.*)", text)
    assert entries == ["kamrules check --strict", "kamrules fmt --check", "kamrules test ."]
    for entry in entries:  # what pre-commit runs: the entry, then the staged plans
        argv = shlex.split(entry)[1:] + ([] if entry.endswith("test .") else [f"{DEFAULT}.kam"])
        assert run_cli(*argv, cwd=tmp_path / "p").returncode == 0, entry


def test_a_folder_that_is_not_empty_is_refused_and_left_as_it_was(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me\n")
    res = run_cli("init", "mine", cwd=tmp_path)
    assert res.returncode == 1
    assert "error[KR741]" in res.stderr and "notes.txt" in res.stderr and "Traceback" not in res.stderr
    assert _tree(tmp_path / "mine") == {"notes.txt": b"keep me\n"}
    assert res.stdout == ""


def test_an_empty_folder_is_fine_and_a_file_or_an_unknown_template_is_not(tmp_path):
    (tmp_path / "empty").mkdir()
    assert run_cli("init", "empty", "--template", "pool", cwd=tmp_path).returncode == 0
    assert (tmp_path / "empty" / "pool.kam").is_file()
    (tmp_path / "f").write_text("x")
    res = run_cli("init", "f", cwd=tmp_path)
    assert res.returncode == 1 and "KR705" in res.stderr and (tmp_path / "f").read_text() == "x"
    res = run_cli("init", "new", "--template", "spilt", cwd=tmp_path)
    assert res.returncode == 1 and "KR742" in res.stderr and "`split`" in res.stderr
    assert not (tmp_path / "new").exists()
    res = run_cli("init", cwd=tmp_path)
    assert res.returncode == 1 and "KR742" in res.stderr and "--list" in res.stderr


def test_a_failed_write_leaves_no_folder_behind(tmp_path, monkeypatch):
    from kamrules.files import outputs

    def refuse(items, what="-o"):
        raise outputs.KamError([outputs.Diagnostic("KR701", "disk full")])
    monkeypatch.setattr(outputs, "write_files", refuse)
    res = run_cli("init", "a/b", cwd=tmp_path)
    assert res.returncode == 1 and "KR701" in res.stderr
    assert list(tmp_path.iterdir()) == []


def test_every_template_file_is_package_data():
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["kamrules"]
    for path in TEMPLATE_DIR.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            rel = PurePosixPath(path.relative_to(ROOT / "kamrules").as_posix())
            assert any(len(PurePosixPath(g).parts) == len(rel.parts) and rel.match(g) for g in globs), rel
