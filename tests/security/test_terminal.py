"""Terminal and document safety (issue 13, security 4): control characters, bidi overrides and
markup from the data or the plan never reach a terminal, a Markdown page or an HTML page raw.

A copy of examples/team-bonus where one payee id holds an ESC sequence that erases the line
and a CR that forges a new one, a BEL, a C1 CSI (0x9b), a right-to-left override, a `|` and
`<script>`; its name holds HTML and a `|` too; the plan's name and a comment quoted by
`explain` hold ESC sequences. Every text command is run on it in-process.
"""
from __future__ import annotations

import csv
import io
import json
import re
import shutil
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings, strategies as st

from conftest import EXAMPLES, PLANS, examples
from kamrules.cli.main import main
from kamrules.diagnostics.textsafe import UNSAFE, for_html, for_markdown, for_terminal, json_safe, md_code, md_inline

EVIL = "kam-1\x1b[2K\rFORGED\x07\x9b\u202e|<script>"
SHOWN = r"kam-1\x1b[2K\rFORGED\x07\x9b\u202e|<script>"  # what a terminal shows instead
NAME = "Ana<b>|x\x1b]0;title\x07"
PLAN_NAME = "Team\x1b[31m bonus"
COMMENT = "# \x1b[1A\x1b[2Kforged comment"
# what no text output may contain: every control but the LF ending lines, DEL, C1, bidi
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def _edit(path, change):
    text = path.read_text(encoding="utf-8")
    path.write_text(change(text), encoding="utf-8", newline="")


@pytest.fixture
def case(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(EXAMPLES / "team-bonus", data)
    _edit(data / "people.csv", lambda t: t.replace("kam-1,Ana,", f'"{EVIL}","{NAME}",'))
    _edit(data / "deals.csv", lambda t: re.sub(r"^(t-\d+),kam-1,", lambda m: f'{m.group(1)},"{EVIL}",', t,
                                              flags=re.M))
    plan = tmp_path / "plan.kam"
    plan.write_text((PLANS / "team-bonus.kam").read_text(encoding="utf-8")
                    .replace('plan "Team bonus 2025"', f'plan "{PLAN_NAME}"')
                    .replace("  team: Text\n}", "  team: Text\n  name: Text\n}", 1)
                    .replace("component commission = bookings * commission_rate",
                             f"component commission = bookings * commission_rate  {COMMENT}"),
                    encoding="utf-8", newline="")
    assert EVIL.encode() in (data / "people.csv").read_bytes()
    return plan, data


def cli(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_safe(*texts):
    for text in texts:
        raw = RAW.search(text)
        assert raw is None, f"raw {raw.group()!r} in output: {text[max(0, raw.start() - 40):raw.end() + 40]!r}"


@pytest.mark.parametrize("args", [
    ("run", "--format", "table"),
    ("run", "--format", "text"),
    ("run", "--format", "table", "--engine", "interpreter", "--jobs", "1"),
])
def test_run_table_shows_ids_escaped(capsys, case, args):
    plan, data = case
    code, out, err = cli(capsys, args[0], plan, "--data", data, *args[1:])
    assert code == 0, err
    assert_safe(out, err)
    assert SHOWN in out and "FORGED" not in out.replace(SHOWN, "")
    lines = out.splitlines()
    # the escaped id is wider: the columns still line up (the period column starts at one offset)
    assert len({line.index("2025-Q1") for line in lines if "2025-Q1" in line}) == 1


def test_csv_keeps_the_exact_value_and_json_is_valid_and_escaped(capsys, case):
    plan, data = case
    code, out, err = cli(capsys, "run", plan, "--data", data)
    assert code == 0, err
    # the data contract: the exact id, its CR inside quotes (an unquoted CR splits the row)
    assert EVIL in {row["payee_id"] for row in csv.DictReader(io.StringIO(out, newline=""))}
    code, out2, err = cli(capsys, "run", plan, "--data", data, "--engine", "interpreter", "--jobs", "1")
    assert code == 0 and out2 == out, err
    code, out, err = cli(capsys, "run", plan, "--data", data, "--format", "json")
    assert code == 0, err
    assert_safe(out)
    assert EVIL in {row["payee_id"] for row in json.loads(out)["payouts"]}
    assert json.loads(out)["meta"]["plan"]["name"] == PLAN_NAME


def test_explain_escapes_ids_and_quoted_plan_lines(capsys, case):
    plan, data = case
    code, out, err = cli(capsys, "explain", plan, "--data", data, "--payee", EVIL)
    assert code == 0, err
    assert_safe(out, err)
    assert out.startswith(SHOWN + " 2025-Q1")
    assert r"\x1b[1A\x1b[2Kforged comment" in out  # the plan comment quoted in the excerpt


def test_explain_unknown_payee_diagnostic_escaped(capsys, case):
    plan, data = case
    code, out, err = cli(capsys, "explain", plan, "--data", data, "--payee", "x\x1b[2Ky")
    assert code == 1 and "KR405" in err
    assert_safe(out, err)
    assert r"x\x1b[2Ky" in err and SHOWN in err  # the argument and the known ids in the hint


def report(capsys, case, command: str, fmt: str) -> str:
    """stdout of `team` or `statement --payee EVIL` in format fmt, checked free of raw controls."""
    plan, data = case
    who = ("--payee", EVIL) if command == "statement" else ()
    code, out, err = cli(capsys, command, plan, "--data", data, "--format", fmt, *who)
    assert code == 0, err
    assert_safe(out, err)
    return out


@pytest.mark.parametrize("command", ["team", "statement"])
def test_text_reports_escape_ids_names_and_plan_name(capsys, case, command):
    out = report(capsys, case, command, "text")
    assert SHOWN in out and r"Ana<b>|x\x1b]0;title\x07" in out and r"Team\x1b[31m bonus" in out


def _md_rows(md: str) -> list:
    """Cells of every Markdown table row (`\\|` is text inside a cell, not a separator)."""
    return [re.split(r"(?<!\\)\|", line.strip()[1:-1]) for line in md.splitlines()
            if line.startswith("|") and not line.startswith("|---")]


@pytest.mark.parametrize("command", ["team", "statement"])
def test_markdown_reports_escape_html_and_table_syntax(capsys, case, command):
    out = report(capsys, case, command, "md")
    assert "<script>" not in out and "<b>" not in out and "&lt;script&gt;" in out
    rows = _md_rows(out)
    # no data `|` adds a cell: every row of a table has as many cells as its header
    tables = [t for t in re.split(r"\n(?!\|)", out) if t.startswith("|")]
    assert rows and all(len({len(r) for r in _md_rows(t)}) == 1 for t in tables)
    if command == "team":
        assert any(r[0].strip().startswith(r"kam-1\\x1b\[2K\\rFORGED") and r"\|&lt;script&gt;" in r[0]
                   for r in rows)


@pytest.mark.parametrize("command", ["team", "statement"])
def test_html_reports_escape_markup_and_controls(capsys, case, command):
    out = report(capsys, case, command, "html")
    assert "<script>" not in out and "Ana<b>" not in out and "Ana&lt;b&gt;|x" in out
    assert r"kam-1\x1b[2K\rFORGED\x07\x9b\u202e|&lt;script&gt;" in out


def test_diff_and_simulate_tables_and_markdown(capsys, case, tmp_path):
    plan, data = case
    new = tmp_path / "new.kam"
    new.write_text(plan.read_text(encoding="utf-8").replace("= 5%", "= 6%"), encoding="utf-8")
    code, out, err = cli(capsys, "diff", plan, new, "--data", data)
    assert code == 0, err
    assert_safe(out, err)
    assert SHOWN in out
    code, out, err = cli(capsys, "diff", plan, new, "--data", data, "--format", "github-markdown")
    assert code == 0, err
    assert_safe(out, err)
    assert "<script>" not in out
    rows = _md_rows(out)
    assert rows and {len(r) for r in rows} == {5}
    code, out, err = cli(capsys, "simulate", plan, new, "--data", data)
    assert code == 0, err
    assert_safe(out, err)
    assert SHOWN in out


def test_data_error_quotes_the_bad_cell_escaped(capsys, case):
    plan, data = case
    _edit(data / "deals.csv", lambda t: t.replace(",45000,", ',"45\x1b[2K\r000",', 1))
    code, out, err = cli(capsys, "run", plan, "--data", data)
    assert code == 1 and "KR403" in err, err
    assert_safe(out, err)
    assert r"45\x1b[2K\r000" in err and "deals.csv" in err
    assert out == ""


def test_plan_diagnostic_caret_lines_up_under_the_escaped_line(capsys, case):
    plan, data = case
    # a misspelt name after a string holding ESC, a TAB and a bidi override: the caret is under
    # the name in the escaped line
    plan.write_text(plan.read_text(encoding="utf-8").replace(
        "param team_bonus_amount = 1000 EUR",
        'param team_bonus_amount = if "\x1b[2K\t\u202e" == "x" then 1000 EUR else bonuss'),
        encoding="utf-8")
    code, out, err = cli(capsys, "check", plan)
    assert code == 1 and "KR101" in err
    assert_safe(out, err)
    lines = err.splitlines()
    i = next(n for n, line in enumerate(lines) if "bonuss" in line and "|" in line)
    src, caret = lines[i], lines[i + 1]
    assert r'"\x1b[2K    \u202e"' in src  # a tab shown as four spaces, as everywhere in a quoted line
    assert caret.index("^") == src.index("bonuss") and caret.strip() == "^" * len("bonuss")


def test_plan_name_with_controls_in_a_diagnostic(capsys, case):
    plan, data = case
    plan.write_text(plan.read_text(encoding="utf-8").replace("currency EUR", f'plan "{PLAN_NAME}"\ncurrency EUR'),
                    encoding="utf-8")
    code, out, err = cli(capsys, "check", plan)
    assert code == 1
    assert_safe(out, err)
    assert r'plan "Team\x1b[31m bonus"' in err


def test_check_machine_formats_stay_valid_and_one_line_per_finding(capsys, case, monkeypatch):
    plan, data = case
    plan.write_text(plan.read_text(encoding="utf-8").replace(
        "param team_bonus_amount = 1000 EUR",
        'param team_bonus_amount = if "a\x1b[2K\r\n::error::forged" == "x" then 1 EUR else bonuss'),
        encoding="utf-8")
    _edit(data / "deals.csv", lambda t: t.replace(",45000,", ',"45\x1b\r\n::error::x",', 1))
    code, out, err = cli(capsys, "check", plan, "--data", data, "--output-format", "github")
    assert code == 1
    assert_safe(out)
    lines = out.splitlines()
    assert lines and all(line.startswith(("::error ", "::warning ")) for line in lines)
    code, out, err = cli(capsys, "check", plan, "--output-format", "junit")
    assert code == 1
    assert_safe(out)
    ET.fromstring(out.encode("utf-8"))  # well-formed XML: no control character in it
    for fmt in ("json", "sarif"):
        code, out, err = cli(capsys, "check", plan, "--output-format", fmt)
        assert code == 1
        assert_safe(out)
        json.loads(out)


# ---------------------------------------------------------------- the escaping functions
TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)


@settings(max_examples=examples(150), deadline=None)
@given(TEXT, TEXT)
def test_for_terminal_properties(a, b):
    shown = for_terminal(a)
    assert UNSAFE.search(shown) is None and RAW.search(shown) is None
    assert for_terminal(shown) == shown  # idempotent: layers may each apply it
    assert for_terminal(a + b) == shown + for_terminal(b)  # per character: cells then lines agree
    if "\\" not in a + b and a != b:  # injective on text without a backslash
        assert for_terminal(a) != for_terminal(b)
    if UNSAFE.search(a) is None:
        assert shown == a  # safe text is shown as is


@settings(max_examples=examples(150), deadline=None)
@given(TEXT, st.booleans())
def test_for_markdown_and_html_properties(a, in_table):
    md = for_markdown(a, in_table=in_table)
    assert RAW.search(md) is None and "<" not in md and ">" not in md and "\n" not in md
    assert re.search(r"(?<!\\)(\\\\)*\|", md) is None  # every `|` is escaped
    assert re.search(r"(?<!\\)(\\\\)*[\[\]`*]", md) is None
    code = md_code(a, in_table=True)
    assert RAW.search(code) is None and re.search(r"(?<!\\)\|", code) is None
    inline = md_inline(a)
    assert RAW.search(inline) is None and "\n" not in inline
    h = for_html(a)
    assert RAW.search(h) is None and "<" not in h and ">" not in h


@given(TEXT)
def test_json_safe_is_the_same_value(a):
    doc = json.dumps({"v": a}, ensure_ascii=False)
    safe = json_safe(doc)
    assert RAW.search(safe) is None
    assert json.loads(safe) == {"v": a}


def test_for_terminal_examples():
    assert for_terminal("a\x1b[2K\rb\tc\nd\x7f\x9b\u202e\u2066\\x") == r"a\x1b[2K\rb\tc\nd\x7f\x9b\u202e\u2066\x"
    assert for_terminal("Zoë 東京 😀 a\u200db") == "Zoë 東京 😀 a\u200db"  # letters, emoji, ZWJ kept
    assert for_markdown("# Hi | <b>x</b> ![i](u) _e_ nrr_attainment") == \
        r"\# Hi \| &lt;b&gt;x&lt;/b&gt; !\[i\](u) \_e\_ nrr_attainment"
    assert md_inline("line 3: `a | <b>` is true") == "line 3: `a | <b>` is true"
    assert md_code("a`b") == "``a`b``"
