"""The formatter (`kamrules fmt`): golden layout, idempotence, AST round trip, comments kept,
and the command line (--check, --diff, stdin, syntax errors leave the file untouched).

The round trip compares trees with spans ignored (ast equality), headers moved first
(`fmt.canonical_order`): a node or field fmt does not print makes these tests fail.
"""
from __future__ import annotations

import os
from pathlib import Path

import attrs
import lark
from lark.lexer import PatternStr
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st
from hypothesis.extra.lark import from_lark

from conftest import PLANS, examples, run_cli
from kamrules.syntax import ast
from kamrules.syntax import fmt
from kamrules.diagnostics.diagnostic import KamError
from kamrules.syntax.fmt import FmtError, canonical_order, format_text
from kamrules.syntax.parser import parse
from kamrules.syntax.tables import grammar_text

HERE = Path(__file__).resolve().parent / "fmt"
PLAN_FILES = sorted(PLANS.glob("*.kam"))


def _comment_texts(plan):
    return sorted(text for _, text in plan.comments)


def assert_round_trip(text: str):
    before = parse(text)
    out = format_text(text)
    after = parse(out)
    assert after.statements == canonical_order(before.statements), out
    assert _comment_texts(after) == _comment_texts(before), out
    assert format_text(out) == out, out
    return out


# ---------------------------------------------------------------- golden
def test_messy_plan_golden():
    messy = (HERE / "messy.kam").read_text(encoding="utf-8")
    expected = (HERE / "messy.expected.kam").read_text(encoding="utf-8")
    assert format_text(messy) == expected
    assert format_text(expected) == expected
    assert_round_trip(messy)


def test_golden_lines_fit_the_width():
    expected = (HERE / "messy.expected.kam").read_text(encoding="utf-8")
    assert max(len(line) for line in expected.splitlines()) <= fmt.WIDTH


@pytest.mark.parametrize("path", PLAN_FILES, ids=[p.name for p in PLAN_FILES])
def test_plans_round_trip_and_are_stable(path):
    out = assert_round_trip(path.read_text(encoding="utf-8"))
    # every line fits, except one with no break point left (none in plans/)
    assert all(len(line) <= fmt.WIDTH for line in out.splitlines()), out


@pytest.mark.parametrize("path", PLAN_FILES, ids=[p.name for p in PLAN_FILES])
def test_plans_are_canonical(path):
    """plans/ is kept formatted: `kamrules fmt plans/*.kam` after editing a plan."""
    text = path.read_text(encoding="utf-8")
    assert format_text(text, str(path)) == text


def test_literals_printed_as_written():
    text = 'let a = 1_000.50 EUR + 0001.10 EUR\nlet r = 105.0% * 007\nlet d = 2025-04-01\nlet q = 2025-Q1\n'
    assert format_text(text) == text


def test_parentheses_kept_and_none_added():
    assert format_text("let a = ((1 + 2)) * 3\nlet b = 1 + 2 * 3\n") == \
        "let a = ((1 + 2)) * 3\nlet b = 1 + 2 * 3\n"


def test_hit_unique_is_the_default_and_other_policies_are_printed():
    text = "table t(x: Number) -> Number hit unique { | any | 1 | }\n"
    assert format_text(text) == "table t(x: Number) -> Number {\n  | any | 1 |\n}\n"
    text = "table t(x: Number) -> Number hit collect_sum { | any | 1 | }\n"
    assert format_text(text) == "table t(x: Number) -> Number hit collect_sum {\n  | any | 1 |\n}\n"


def test_long_expression_breaks_after_equals_then_before_and():
    cond = " and ".join(f"column_{i} == {i}" for i in range(12))
    out = format_text(f"let rows = deals where {cond}\n")
    lines = out.splitlines()
    assert lines[0] == "let rows ="
    assert all(line.startswith("  ") and len(line) <= fmt.WIDTH for line in lines[1:])
    assert all(line.startswith("  and ") for line in lines[2:])
    assert " ".join(line.strip() for line in lines[1:]) == f"deals where {cond}"


def test_blank_lines_between_groups_and_kept_inside_a_group():
    text = "param a = 1\nparam b = 2\n\n\n\nparam c = 3\nlet d = 4\n"
    assert format_text(text) == "param a = 1\nparam b = 2\n\nparam c = 3\n\nlet d = 4\n"


def test_comments_trailing_and_leading():
    text = ("# top\n\nlet a = 1 # on a\n# before b\nlet b =\n  # inside b\n  2\n"
            "input t {\n  # first column\n  x: Text # on x\n  # before the brace\n} # after\n# end\n")
    out = format_text(text)
    assert out == ("# top\n\nlet a = 1  # on a\n# before b\n# inside b\nlet b = 2\n\n"
                   "input t {\n  # first column\n  x: Text  # on x\n  # before the brace\n}  # after\n"
                   "# end\n")


def test_hash_inside_a_string_is_not_a_comment():
    text = 'let a = "#1 deal"  # real\n'
    assert format_text(text) == text


def test_string_escapes_round_trip():
    text = 'let a = "C:\\\\new \\"quoted\\" line\\nbreak"\n'
    assert format_text(text) == text
    assert parse(text).statements[0].expr.value == 'C:\\new "quoted" line\nbreak'


def test_unknown_node_is_reported_not_dropped():
    @attrs.frozen
    class Novel:
        x: int = 0
    Novel.__module__ = ast.__name__
    plan = ast.Plan((ast.Let("a", None, ast.Paren(Novel())),))
    with pytest.raises(FmtError, match="Novel"):
        fmt.format_plan(plan, "")


def test_syntax_error_is_a_kam_error():
    with pytest.raises(KamError) as err:
        format_text("let a = = 1\n", "x.kam")
    assert err.value.diagnostics[0].code == "KR001"


# ---------------------------------------------------------------- properties
_GRAMMAR = lark.Lark(grammar_text(), parser="lalr")
_ALPHABET = st.characters(min_codepoint=32, max_codepoint=126)


def _terminal(t):
    """Each generated token followed by whitespace (from_lark glues tokens otherwise)."""
    if t.name == "WS":
        return st.sampled_from([" ", "\n", "\n\n", "  \n \n"])
    if t.name == "COMMENT":
        return st.from_regex(r"#[ -~]*", fullmatch=True).map(lambda c: f" {c}\n")
    if isinstance(t.pattern, PatternStr):  # a keyword or a sign: one string, no regex to draw
        return st.just(t.pattern.value + " ")
    return st.from_regex(t.pattern.to_regexp(), fullmatch=True, alphabet=_ALPHABET).map(lambda s: s + " ")


PLAN_TEXT = from_lark(_GRAMMAR, explicit={t.name: _terminal(t) for t in _GRAMMAR.terminals},
                      alphabet=_ALPHABET)


# ~half the drawn texts are invalid (lark's max depth, keywords drawn as names): generation is
# the cost, so the ci profile draws 40 (long: 400)
@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PLAN_TEXT)
def test_generated_plans_round_trip(text):
    try:
        parse(text)
    except KamError:  # a keyword drawn as a name, a literal over the limits, ...
        assume(False)
    assert_round_trip(text)


@settings(max_examples=examples(200), deadline=None)
@given(st.text())
def test_parse_raises_only_kam_errors(text):
    try:
        parse(text)
    except KamError:
        pass


@settings(max_examples=examples(100), deadline=None)
@given(st.text(alphabet=st.sampled_from(list("let a=1+2()[]|{}:#\"\n x_.%-EUR<>and or in not"))))
def test_parse_of_plan_like_noise_raises_only_kam_errors(text):
    try:
        parse(text)
    except KamError:
        pass


# ---------------------------------------------------------------- command line
MESSY = 'plan "x"\nlet  a=1 # one\n'
TIDY = 'plan "x"\n\nlet a = 1  # one\n'


def _leftovers(folder):
    return sorted(p for p in os.listdir(folder) if p.startswith(".kamrules-"))


def test_cli_rewrites_in_place(tmp_path):
    f = tmp_path / "p.kam"
    f.write_text(MESSY)
    res = run_cli("fmt", f)
    assert res.returncode == 0, res.stderr
    assert f.read_text() == TIDY
    assert _leftovers(tmp_path) == []
    res = run_cli("fmt", "--check", f)
    assert res.returncode == 0 and res.stdout == ""


def test_cli_check_lists_files_and_writes_nothing(tmp_path):
    messy, tidy = tmp_path / "messy.kam", tmp_path / "tidy.kam"
    messy.write_text(MESSY)
    tidy.write_text(TIDY)
    res = run_cli("fmt", "--check", messy, tidy)
    assert res.returncode == 1
    assert res.stdout == f"would reformat {messy}\n"
    assert messy.read_text() == MESSY


def test_cli_diff(tmp_path):
    f = tmp_path / "p.kam"
    f.write_text(MESSY)
    res = run_cli("fmt", "--diff", f)
    assert res.returncode == 1
    assert "-let  a=1 # one\n" in res.stdout and "+let a = 1  # one\n" in res.stdout
    assert f.read_text() == MESSY


def test_cli_stdin_to_stdout():
    res = run_cli("fmt", "-", input=MESSY)
    assert res.returncode == 0, res.stderr
    assert res.stdout == TIDY


def test_cli_syntax_error_leaves_file_untouched(tmp_path):
    bad = tmp_path / "bad.kam"
    bad.write_text('plan "x"\nlet a = = 1\n')
    good = tmp_path / "good.kam"
    good.write_text(MESSY)
    res = run_cli("fmt", bad, good)
    assert res.returncode == 1
    assert f"{bad}:2:9: error[KR001]" in res.stderr
    assert "Traceback" not in res.stderr
    assert bad.read_text() == 'plan "x"\nlet a = = 1\n'
    assert good.read_text() == TIDY  # the other files are still formatted
    assert _leftovers(tmp_path) == []


def test_cli_missing_file(tmp_path):
    res = run_cli("fmt", tmp_path / "nope.kam")
    assert res.returncode == 1
    assert "KR401" in res.stderr and "Traceback" not in res.stderr


# ---------------------------------------------------------------- pre-commit hooks
def test_pre_commit_hooks_run_on_plans(tmp_path):
    yaml = pytest.importorskip("yaml")
    import re
    hooks = {h["id"]: h for h in yaml.safe_load((PLANS.parent / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"kamrules-check", "kamrules-fmt"}
    for hook in hooks.values():
        assert re.search(hook["files"], "plans/abtasty-kam.kam")
        assert not re.search(hook["files"], "kamrules/syntax/fmt.py")
    f = tmp_path / "p.kam"
    f.write_text(MESSY)
    # pre-commit calls `entry` with the staged file names
    fmt_args = hooks["kamrules-fmt"]["entry"].split()[1:]
    assert run_cli(*fmt_args, f).returncode == 0 and f.read_text() == TIDY
    check_args = hooks["kamrules-check"]["entry"].split()[1:]
    assert run_cli(*check_args, PLANS / "abtasty-kam.kam").returncode == 0
    f.write_text('plan "x"\nlet a = b\n')
    assert run_cli(*check_args, f).returncode == 1
