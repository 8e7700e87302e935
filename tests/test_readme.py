"""README stays true: its plan excerpts are lines of the real plans, and its quickstart
command computes the case-01 payouts."""
from __future__ import annotations

import re

from conftest import EXAMPLES, ROOT, run_cli


def _blocks():
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```\n(# plans/(\S+) \(excerpt\)[^\n]*\n.*?)```", text, re.S)


def test_readme_plan_excerpts_are_lines_of_the_plans():
    blocks = _blocks()
    assert len(blocks) >= 2
    for body, plan in blocks:
        lines = {line.strip() for line in (ROOT / "plans" / plan).read_text().splitlines()}
        for line in body.splitlines()[1:]:
            if line.strip():
                assert line.strip() in lines, f"{plan}: {line!r}"


def test_readme_quickstart_runs_the_main_job():
    text = (ROOT / "README.md").read_text()
    quick = text[text.index("## Quickstart"):text.index("## Usage")]
    commands = re.findall(r"```\n(.*?)\n```", quick, re.S)
    assert len(commands) == 2
    assert commands[1] == 'pip install -e ".[test,portal]" && python -m pytest -q'
    run = commands[0].split("&& ", 1)[1].split()
    assert run[:2] == ["kamrules", "run"]
    res = run_cli(*run[1:])
    assert res.returncode == 0, res.stderr
    expected = (EXAMPLES / "01-abtasty-nrr-upsell" / "expected.csv").read_text().splitlines()[1:]
    assert sorted(res.stdout.splitlines()[1:]) == sorted(expected)


def test_ci_runs_the_quickstart_test_command():
    text = (ROOT / "README.md").read_text()
    quick = text[text.index("## Quickstart"):text.index("## Usage")]
    test_command = re.findall(r"```\n(.*?)\n```", quick, re.S)[1]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci


def test_the_usage_table_says_what_the_parser_does():
    """README's usage table is tested against the argument parser: one row per command, every
    option of the command in it and no other, lists of values (`--format a|b`) as the parser's
    choices (a metavar, `--engine E`, may stand for them)."""
    from test_docs import command_parsers, synopsis_drift

    text = (ROOT / "README.md").read_text()
    usage = text[text.index("## Usage"):text.index("### The language in one screen")]
    rows = {name: synopsis for name, synopsis in re.findall(r"^\| `kamrules (\w+)([^`]*)` \|", usage, re.M)}
    parsers = command_parsers()
    assert sorted(rows) == sorted(parsers)
    drift = [d for name, (parser, _) in parsers.items() for d in synopsis_drift(name, parser, rows[name], False)]
    assert not drift, "\n".join(drift)
