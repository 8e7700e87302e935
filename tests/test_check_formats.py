"""`kamrules check` output formats (json, github, junit, sarif), exit codes, --strict, and the
diagnostics docs (one section per code). Findings are compared with the golden plans'
known positions, worked out from the plan files.
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import ROOT, run_cli, run_cli_process
from kamrules.cli.main import main
from kamrules.diagnostics.diagnostic import CODES

GOLDEN = ROOT / "tests" / "golden"
BAD = "undefined_name_did_you_mean.kam"   # error KR101 at 11:46, hint did you mean
WARN = "lint_weights.kam"                  # warning KR505 at 10:7
CLEAN = "lint_noqa_suppressed.kam"          # no finding


def check(capsys, monkeypatch, *args):
    monkeypatch.chdir(GOLDEN)
    code = main(["check", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_exit_codes_and_strict(capsys, monkeypatch):
    assert check(capsys, monkeypatch, CLEAN)[0] == 0
    assert check(capsys, monkeypatch, WARN)[0] == 0
    assert check(capsys, monkeypatch, "--strict", WARN)[0] == 1
    assert check(capsys, monkeypatch, "--strict", CLEAN)[0] == 0
    assert check(capsys, monkeypatch, BAD, CLEAN)[0] == 1
    code, out, err = check(capsys, monkeypatch, "-q", CLEAN)
    assert (code, out, err) == (0, "", "")
    code, _, err = check(capsys, monkeypatch, "missing.kam")
    assert code == 1 and "KR401" in err


def test_usage_errors_exit_2():
    res = run_cli("check", "--output-format", "yaml", "plans/abtasty-kam.kam")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert run_cli("check").returncode == 2


def test_internal_error_is_one_line_and_exit_2(capsys, monkeypatch):
    import kamrules.cli.check as mod

    def boom(plan):
        raise RuntimeError("lint exploded")

    monkeypatch.setattr(mod, "lint", boom)
    code, out, err = check(capsys, monkeypatch, WARN)
    assert code == 2 and out == ""
    assert err == "kamrules: internal error while checking: RuntimeError: lint exploded\n"


def test_json(capsys, monkeypatch):
    code, out, err = check(capsys, monkeypatch, "--output-format", "json", BAD, WARN, CLEAN)
    assert code == 1 and err == ""
    doc = json.loads(out)
    assert doc["version"] == 1
    assert doc["summary"] == {"plans": 3, "errors": 1, "warnings": 1}
    files = {f["file"]: f for f in doc["files"]}
    d = files[BAD]["diagnostics"][0]
    assert (d["code"], d["severity"], d["line"], d["column"]) == ("KR101", "error", 11, 46)
    assert d["end_column"] == 46 + len("payout_rat") and d["hint"] == "did you mean `payout_rate`?"
    w = files[WARN]["diagnostics"][0]
    assert (w["code"], w["severity"], w["line"], w["column"]) == ("KR505", "warning", 10, 7)
    assert w["related"][0]["line"] == 11
    assert files[CLEAN] == {"file": CLEAN, "errors": 0, "warnings": 0, "diagnostics": []}


def test_github(capsys, monkeypatch):
    code, out, _ = check(capsys, monkeypatch, "--output-format", "github", BAD, WARN)
    lines = out.splitlines()
    assert code == 1 and len(lines) == 2
    assert lines[0] == ("::error file=undefined_name_did_you_mean.kam,line=11,col=46,endLine=11,"
                        "endColumn=56,title=KR101::undefined name `payout_rat`%0Ahint: did you mean "
                        "`payout_rate`?")
    assert lines[1].startswith("::warning file=lint_weights.kam,line=10,col=7,")
    assert "title=KR505::component weights add up to 90%25, not 100%25" in lines[1]
    _, out, _ = check(capsys, monkeypatch, "--output-format", "github", "--strict", WARN)
    assert out.startswith("::error ")


def test_junit(capsys, monkeypatch):
    code, out, _ = check(capsys, monkeypatch, "--output-format", "junit", BAD, WARN, CLEAN)
    root = ET.fromstring(out)
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("3", "1")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert list(cases) == [BAD, WARN, CLEAN]
    fail = cases[BAD].findall("failure")
    assert [(f.get("type"), f.get("message")) for f in fail] == [("KR101", "undefined name `payout_rat`")]
    assert "did you mean `payout_rate`?" in fail[0].text
    assert cases[WARN].find("failure") is None and "KR505" in cases[WARN].find("system-out").text
    assert list(cases[CLEAN]) == []
    _, out, _ = check(capsys, monkeypatch, "--output-format", "junit", "--strict", WARN)
    assert ET.fromstring(out).find("testsuite").get("failures") == "1"


def _sarif_shape(doc):
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-2.1.0.json")
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "kamrules" and isinstance(driver["rules"], list)
    ids = [r["id"] for r in driver["rules"]]
    for r in driver["rules"]:
        assert r["shortDescription"]["text"] == CODES[r["id"]]
    for res in run["results"]:
        assert res["level"] in ("error", "warning", "note")
        assert ids[res["ruleIndex"]] == res["ruleId"]
        assert res["message"]["text"]
        for loc in res["locations"]:
            phys = loc["physicalLocation"]
            assert phys["artifactLocation"]["uri"]
            region = phys.get("region", {"startLine": 1})
            assert region["startLine"] >= 1 and region.get("startColumn", 1) >= 1
    return run


def test_sarif(capsys, monkeypatch):
    code, out, _ = check(capsys, monkeypatch, "--output-format", "sarif", BAD, WARN, "lint_unused.kam")
    run = _sarif_shape(json.loads(out))
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["KR101", "KR503", "KR505"]
    got = [(r["ruleId"], r["level"], r["locations"][0]["physicalLocation"]["region"]["startLine"])
           for r in run["results"]]
    assert got == [("KR101", "error", 11), ("KR505", "warning", 10),
                   ("KR503", "warning", 10), ("KR503", "warning", 12), ("KR503", "warning", 14)]
    region = run["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 11, "startColumn": 46, "endLine": 11, "endColumn": 56}
    rules = run["tool"]["driver"]["rules"]
    assert [r["helpUri"].rsplit("#", 1)[1] for r in rules] == ["kr101", "kr503", "kr505"]
    assert run["invocations"] == [{"executionSuccessful": True, "exitCode": 1}] and code == 1
    # the did-you-mean of KR101 (`payout_rat` at 11:46-56) is a safe fix: its replacement
    [fix] = run["results"][0]["fixes"]
    [change] = fix["artifactChanges"]
    assert change["replacements"] == [{"deletedRegion": region, "insertedContent": {"text": "payout_rate"}}]


def test_sarif_related_locations_are_the_notes_and_labels(capsys, monkeypatch):
    # table_overlap: rows 2 (line 12) and 3 (line 13) of `rate` overlap; the note is row 2
    _, out, _ = check(capsys, monkeypatch, "--output-format", "sarif", "table_overlap.kam",
                      "currency_mismatch.kam")
    results = json.loads(out)["runs"][0]["results"]
    overlap = [r for r in results if r["ruleId"] == "KR302"][0]
    [note] = overlap["relatedLocations"]
    assert note["physicalLocation"]["region"]["startLine"] == 12
    assert note["message"]["text"] == "this row matches too"
    # currency_mismatch.kam:11: `payee.annual_variable / 4` (22-47) + `bonus` (50-55)
    mismatch = [r for r in results if r["ruleId"] == "KR202"][0]
    got = [(loc["message"]["text"], loc["physicalLocation"]["region"]["startColumn"],
            loc["physicalLocation"]["region"]["endColumn"]) for loc in mismatch["relatedLocations"]]
    assert got == [("this is Money[EUR]", 22, 47), ("this is Money[USD]", 50, 55)]


def test_no_format_prints_pay_amounts(capsys, monkeypatch, tmp_path):
    """check --data reads salaries; no format may echo them."""
    plan = tmp_path / "p.kam"
    plan.write_text((GOLDEN / CLEAN).read_text().replace(
        "  annual_variable: Money\n", "  annual_fixed: Money\n  annual_variable: Money\n"))
    (tmp_path / "people.csv").write_text("payee_id,annual_fixed,annual_variable\nkam-1,41234,61234\n")
    for fmt in ("text", "json", "github", "junit", "sarif"):
        code, out, err = check(capsys, monkeypatch, "--output-format", fmt, "--data", str(tmp_path), str(plan))
        assert code == 0 and "KR507" in out + err
        assert "41234" not in out + err and "61234" not in out + err


def test_a_check_output_through_a_real_subprocess():
    res = run_cli_process("check", "--output-format", "github", CLEAN, cwd=GOLDEN)
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "")


@pytest.mark.parametrize("args, stdin", [
    (("check",), None),                       # argparse: usage on stderr, SystemExit(2)
    (("check", "--strict", BAD, WARN), None),  # diagnostics on stderr, exit 1
    (("fmt", "--check", "-"), 'plan "x"\r\n\r\nlet a = 1\r\n'),  # stdin keeps its CRLF: exit 1
])
def test_the_in_process_runner_gives_what_the_process_gives(args, stdin):
    """conftest.run_cli (most CLI tests) against `python -m kamrules`: same code, same bytes."""
    inside, real = (run(*args, cwd=GOLDEN, input=stdin) for run in (run_cli, run_cli_process))
    assert (inside.returncode, inside.stdout, inside.stderr) == (real.returncode, real.stdout, real.stderr)
    assert inside.stdout + inside.stderr and "Traceback" not in real.stderr


def test_every_code_has_a_docs_section():
    text = (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    anchors = re.findall(r'<a id="(kr\d{3})"></a>\n### (KR\d{3}): (.*)', text)
    assert [a.upper() for a, _, _ in anchors] == [c for _, c, _ in anchors]
    assert [c for _, c, _ in anchors] == list(CODES), "one section per code, in the registry's order"
    for _, code, title in anchors:
        assert title == CODES[code], code
    for section in re.split(r"\n### ", text)[1:]:
        assert "Fix:" in section, section.splitlines()[0]


def test_fix_applies_the_safe_fixes_and_reports_what_is_left(tmp_path):
    head = (GOLDEN / BAD).read_text(encoding="utf-8")  # KR101 `payout_rat`, did you mean `payout_rate`
    assert "* payout_rat\n" in head
    plan = tmp_path / "p.kam"
    plan.write_text(head.replace("param payout_rate = 10%", "param   payout_rate=10%")
                    + "let late = payee.annual_variabl + 1 EUR\n", encoding="utf-8")
    result = run_cli("check", "--fix", "p.kam", cwd=tmp_path)
    text = plan.read_text(encoding="utf-8")
    assert "* payout_rate\n" in text and "payee.annual_variable + 1 EUR" in text  # both renames
    assert "param payout_rate = 10%" in text  # the layout of `fmt`
    assert run_cli("fmt", "--check", "p.kam", cwd=tmp_path).returncode == 0
    assert result.stderr.startswith("fixed p.kam: 2 rename(s)\n")
    # what is left is reported as usual: the new let is unused (a warning), no error
    assert result.returncode == 0 and "KR503" in result.stderr and "error[" not in result.stderr
    again = run_cli("check", "--fix", "p.kam", cwd=tmp_path)
    assert plan.read_text(encoding="utf-8") == text and not again.stderr.startswith("fixed")


def test_fix_leaves_an_ambiguous_or_unparsable_plan_alone(tmp_path):
    plan = tmp_path / "p.kam"
    original = (GOLDEN / "syntax_missing_eq.kam").read_text(encoding="utf-8")
    plan.write_text(original, encoding="utf-8")
    result = run_cli("check", "--fix", "p.kam", cwd=tmp_path)
    assert result.returncode == 1 and plan.read_text(encoding="utf-8") == original
