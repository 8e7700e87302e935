"""Diagnostics as rustc shows them: colour only when wanted, labelled spans, an unclosed
bracket at its opener, did-you-mean for keywords, a curve gap on the rows around the hole,
hints with the user's own values. Expected texts are written by hand from the plans below.
"""
from __future__ import annotations

import io

import pytest

from conftest import run_cli
from kamrules.diagnostics.diagnostic import Diagnostic
from kamrules.diagnostics.render import Style, color_wanted, docs_url, render_text
from kamrules.diagnostics.source import SourceFile, Span

HEAD = """plan "T"
currency EUR
period year
payees people

input people key payee_id {
  payee_id: Text
  target: Money
}
"""  # 9 lines: the statement under test is on line 11


def check_text(tmp_path, body: str, env=None) -> str:
    (tmp_path / "p.kam").write_text(HEAD + "\n" + body, encoding="utf-8")
    result = run_cli("check", "p.kam", cwd=tmp_path, env=env)
    assert result.returncode == 1
    return result.stderr


def test_mismatched_plus_labels_each_side_and_hints_the_users_number(tmp_path):
    err = check_text(tmp_path, "component upsell = payee.target + 100\n")
    assert err == (
        "p.kam:11:20: error[KR203]: cannot add Money[EUR] and Number\n"
        "  11 | component upsell = payee.target + 100\n"
        "                          ^^^^^^^^^^^^^^^^^^\n"
        "                          ------------ this is Money[EUR]\n"
        "                                         --- this is Number\n"
        "  hint: write the amount with its currency: `100 EUR`\n"
        "  = help: kamrules rule KR203\n"
        "1 plan(s) checked: 1 error(s), 0 warning(s)\n")


@pytest.mark.parametrize("opener, body, col, next_line", [
    ("{", "curve rate(a: Rate) -> Rate {\n  | < 80% | 0% |\n  | >= 80% | 100% |\n\n"
          "component upsell = payee.target * rate(50%)\n", 29, 15),
    ("(", "let a = min(payee.target, (payee.target * 2)\n\ncomponent upsell = a\n", 12, 13),
    ("[", 'let a = ["x", "y"\ncomponent upsell = payee.target\n', 9, 12),
])
def test_an_unclosed_bracket_is_reported_at_its_opener(tmp_path, opener, body, col, next_line):
    err = check_text(tmp_path, body)
    closer = {"{": "}", "(": ")", "[": "]"}[opener]
    assert err.startswith(f"p.kam:11:{col}: error[KR001]: this `{opener}` is never closed\n")
    lines = err.splitlines()
    assert lines[2] == " " * (7 + col - 1) + "^"  # under the opener itself
    assert f"{next_line:>4} | component upsell" in err
    assert "       --------- the next statement starts here" in err  # `component`, 9 wide
    assert f"hint: add `{closer}` before `component` on line {next_line}" in err


def test_an_unclosed_brace_at_the_end_of_the_file(tmp_path):
    err = check_text(tmp_path, "curve rate(a: Rate) -> Rate {\n  | < 80% | 0% |\n")
    assert err.startswith("p.kam:11:29: error[KR001]: this `{` is never closed\n")
    assert "hint: add `}` before the end of the file" in err


def test_a_misspelt_keyword_gets_did_you_mean(tmp_path):
    err = check_text(tmp_path, "compnent upsell = payee.target\n")
    assert err == ("p.kam:11:1: error[KR001]: unknown word `compnent` where a statement starts\n"
                   "  11 | compnent upsell = payee.target\n"
                   "       ^^^^^^^^\n"
                   "  hint: did you mean `component`?\n"
                   "  = help: kamrules rule KR001\n"
                   "1 plan(s) checked: 1 error(s), 0 warning(s)\n")


def test_a_curve_gap_points_at_the_rows_around_the_hole(tmp_path):
    err = check_text(tmp_path, "curve rate(a: Rate) -> Rate {\n  | < 80% | 0% |\n  | 90% to < 100% | 50% |\n"
                               "  | >= 100% | 100% |\n}\ncomponent upsell = payee.target * rate(50%)\n")
    # the hole is [80%, 90%): the row `< 80%` (line 12) ends before it, `90% to < 100%` (13) after
    assert err.splitlines()[:5] == [
        "p.kam:12:3: error[KR301]: `rate` has no row for a = 80% (and 1 more point)",
        "  12 |   | < 80% | 0% |",
        "         " + "^" * len("| < 80% | 0% |"),
        "  13 |   | 90% to < 100% | 50% |",
        "         " + "-" * len("| 90% to < 100% | 50% |") + " the hole ends where this row starts"]


def test_colour_only_when_wanted(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    for var in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(var, raising=False)
    assert color_wanted(Tty()) and not color_wanted(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not color_wanted(Tty())
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert not color_wanted(Tty())  # NO_COLOR wins
    monkeypatch.delenv("NO_COLOR")
    assert color_wanted(io.StringIO())  # forced, even on a pipe
    monkeypatch.setenv("FORCE_COLOR", "0")
    assert not color_wanted(io.StringIO())


def test_colour_keeps_the_text_and_the_help_line(tmp_path):
    body = "component upsell = payee.target + 100\n"
    plain = check_text(tmp_path, body)
    coloured = check_text(tmp_path, body, env={"FORCE_COLOR": "1", "NO_COLOR": None})
    assert "\x1b[" not in plain and "\x1b[1;31m" in coloured
    assert "\x1b]8;;" not in coloured  # no docs site configured: no hyperlink
    stripped = __import__("re").sub(r"\x1b\[[0-9;]*m", "", coloured)
    assert stripped == plain


def test_help_line_points_at_the_rule_command_or_the_published_docs(tmp_path, monkeypatch):
    """Offline, `kamrules rule KRnnn` (which prints the section); with $KAMRULES_DOCS_URL, the
    code's section there, also as a hyperlink on the code in colour."""
    body = "component upsell = payee.target + 100\n"
    plain = check_text(tmp_path, body)
    assert plain.splitlines()[-2] == "  = help: kamrules rule KR203"
    assert "file:" not in plain
    site = "https://docs.example.org/diagnostics.html"
    published = check_text(tmp_path, body, env={"KAMRULES_DOCS_URL": site})
    assert published.splitlines()[-2] == f"  = help: {site}#kr203"
    assert published.replace(f"{site}#kr203", "kamrules rule KR203") == plain
    coloured = check_text(tmp_path, body, env={"KAMRULES_DOCS_URL": site, "FORCE_COLOR": "1", "NO_COLOR": None})
    assert f"\x1b]8;;{site}#kr203\x1b\\" in coloured
    monkeypatch.setenv("KAMRULES_DOCS_URL", site)
    assert docs_url("KR203") == f"{site}#kr203"


def test_control_characters_of_a_plan_never_reach_the_terminal_in_colour():
    src = SourceFile("p.kam", "let a\x1b[2J = 1\n")
    d = Diagnostic("KR001", "bad \x1b[2J", Span("p.kam", 1, 5, 1, 9), labels=((Span("p.kam", 1, 1, 1, 4), "x\x07"),))
    text = render_text(d, {"p.kam": src}, Style(color=True))
    assert "\x1b[2J" not in text and "\x07" not in text


def test_rule_prints_the_docs_section_of_a_code():
    docs = (__import__("conftest").ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    section = docs.split('<a id="kr203"></a>\n')[1].split("<a id=")[0]
    fix_line = next(line for line in section.splitlines() if line.startswith("Fix: "))
    result = run_cli("rule", "kr203")
    assert result.returncode == 0
    assert result.stdout.startswith("# KR203: invalid money arithmetic\n\nMoney times money")
    assert fix_line in result.stdout and "component variable = payee.annual_variable * floor_amount" in result.stdout
    assert "```kam\n" in result.stdout and "error=KR203" not in result.stdout  # the test marks dropped
    assert result.stdout.rstrip().endswith("diagnostics.md#kr203")


def test_rule_unknown_code_and_all():
    result = run_cli("rule", "KR2O3")
    assert result.returncode == 2 and "did you mean `KR203`?" in result.stderr
    from kamrules.diagnostics.diagnostic import CODES
    listed = run_cli("rule", "--all").stdout.splitlines()
    assert listed[0] == "KR001  syntax error" and len(listed) == len(CODES)


def test_sarif_help_uri_is_relative_unless_a_docs_site_is_set(monkeypatch):
    import json
    from kamrules.report.findings import Checked, render_sarif
    src = SourceFile("p.kam", "let a = 1\n")
    results = [Checked("p.kam", src, (Diagnostic("KR101", "unknown name", Span("p.kam", 1, 9, 1, 10)),))]
    monkeypatch.delenv("KAMRULES_DOCS_URL", raising=False)
    driver = json.loads(render_sarif(results))["runs"][0]["tool"]["driver"]
    assert driver["rules"][0]["helpUri"] == "docs/diagnostics.md#kr101"
    assert driver["informationUri"] == "docs/diagnostics.md"
    monkeypatch.setenv("KAMRULES_DOCS_URL", "https://docs.example.org/diagnostics.html")
    driver = json.loads(render_sarif(results))["runs"][0]["tool"]["driver"]
    assert driver["rules"][0]["helpUri"] == "https://docs.example.org/diagnostics.html#kr101"
    assert driver["informationUri"] == "https://docs.example.org/diagnostics.html"
