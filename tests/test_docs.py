"""Every example in docs/ is tested: plans check, commands print what the page says.

Conventions for fenced blocks in docs/**/*.md (the info string after the backticks):

```kam                      a complete plan: parses and checks with no error
```kam error=KR201          parses and checks with errors, every one of code KR201
```kam fragment             statements checked after the fragment prelude
                            (docs/_prelude.kam: header and the usual inputs)
```kam file=plans/x.kam     must equal the whole file, layout aside (then checked)
```kam excerpt=plans/x.kam  a consecutive part of the file, layout aside (runs of spaces
                            and line breaks compare equal), comments included
```kam variant=plans/x.kam  the file with the block's statements replacing, in place, the
                            ones of the same name or header (new ones appended): the
                            result must check
  data=DIR [period=P]       (with variant) the variant is run on DIR, and the ```csv block
                            right after it must be exactly what `kamrules run` prints
```kam name=t.kam           starts an assembled plan `t.kam`; ```kam append=t.kam adds the
                            block to it; the assembly so far is checked at every block
                            (`error=` applies to it too, without keeping the block)
rules=plans/x.kam           (with name/append) the assembly so far has exactly the
                            statements of the file, in any order, comments and layout aside
```console                  lines `$ kamrules ...` are run from the repo root and their
                            stdout must equal the lines that follow, up to the next `$`;
                            a line `...` stands for any number of lines and `[line ?]`
                            for any `[line N]` of a trace. `exit=N` expects
                            that exit code (default 0) and `stderr` compares stderr.

Commands run in-process through `kamrules.cli.main.main` (what `python -m kamrules` calls), which
keeps the suite fast; one test runs a docs command as a real subprocess to keep them honest.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
from pathlib import Path

import pytest

from conftest import ROOT, run_cli_process
from kamrules.check.checker import check
from kamrules.cli.main import main as cli_main
from kamrules.diagnostics.diagnostic import KamError
from kamrules.syntax.parser import _comment_start, parse

DOCS = ROOT / "docs"
PRELUDE = DOCS / "_prelude.kam"
FENCE = re.compile(r"^```(\S*)(.*)$")


def _blocks(path: Path):
    """(lang, attrs, text, line) of every fenced block of a markdown file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m and m.group(1):
            lang, rest, start = m.group(1), m.group(2), i + 1
            body = []
            i += 1
            while i < len(lines) and lines[i].rstrip() != "```":
                body.append(lines[i])
                i += 1
            yield lang, _attrs(rest), "\n".join(body) + "\n", start
        i += 1


def _attrs(rest: str) -> dict:
    out = {}
    for word in rest.split():
        key, _, value = word.partition("=")
        out[key] = value if value else True
    return out


def _pages():
    return sorted(p for p in DOCS.rglob("*.md"))


def _all(lang):
    for page in _pages():
        for b_lang, attrs, text, line in _blocks(page):
            if b_lang == lang:
                yield page, attrs, text, line


def _codes(text: str, path: str = "<docs>") -> list[str]:
    """Error codes of a plan text (parse errors included); [] when it checks clean."""
    try:
        plan = parse(text, path)
    except KamError as err:
        return [d.code for d in err.diagnostics if d.is_error]
    from kamrules.diagnostics.source import SourceFile
    _, diags = check(plan, SourceFile(path, text))
    return [d.code for d in diags if d.is_error]


def _expect(text: str, attrs: dict, where: str):
    codes = _codes(text, where)
    want = attrs.get("error")
    if want:
        assert codes and set(codes) == {want}, f"{where}: expected only {want}, got {codes}"
    else:
        assert codes == [], f"{where}: expected no error, got {codes}\n{text}"


def _statements(text: str) -> list[str]:
    """The statements of a plan as normalised source text (no comments, single spaces)."""
    plan = parse(text)
    lines = text.splitlines()
    out = []
    for st in plan.statements:
        chunk = []
        for n in range(st.span.line, st.span.end_line + 1):
            line = lines[n - 1]
            cut = _comment_start(line)
            chunk.append(line[:cut] if cut is not None else line)
        out.append(" ".join(" ".join(chunk).split()))
    return sorted(out)


def _defined_names(text: str) -> set[str]:
    return {st.name for st in parse(text).statements if hasattr(st, "name")}


def _variant(base_text: str, block: str) -> str:
    """The base plan with the block's definitions in place of the same-named ones (kept at
    their place, so components print in the same order); the other statements appended."""
    block_lines = block.splitlines()
    new = {}
    for st in parse(block).statements:
        key = getattr(st, "name", None) or getattr(st, "key", None)
        new[key] = "\n".join(block_lines[st.span.line - 1:st.span.end_line])
    out, skip, used = [], set(), set()
    base_lines = base_text.splitlines()
    for st in parse(base_text).statements:
        key = getattr(st, "name", None) or getattr(st, "key", None)
        if key in new and key not in used:
            skip.update(range(st.span.line + 1, st.span.end_line + 1))
            base_lines[st.span.line - 1] = new[key]
            used.add(key)
    out = [line for n, line in enumerate(base_lines, 1) if n not in skip]
    rest = [text for key, text in new.items() if key not in used]
    return "\n".join(out + rest) + "\n"


# ------------------------------------------------------------------------- kam blocks
def _kam_cases():
    """One case per block; name=/append= blocks carry the assembly so far (built here, in
    page order, so that any single case can run alone)."""
    assembled: dict[str, str] = {}
    for page, attrs, text, line in _all("kam"):
        where = f"{page.relative_to(ROOT)}:{line}"
        whole = None
        key = attrs.get("name") or attrs.get("append")
        if key:
            if "name" in attrs:
                assembled[key] = ""
            whole = assembled.get(key, f"# append to `{key}` before any name={key} block\n!") + text
            if not attrs.get("error"):
                assembled[key] = whole
        yield pytest.param(attrs, text, whole, where, id=where)


@pytest.mark.parametrize("attrs, text, whole, where", list(_kam_cases()))
def test_kam_block(attrs, text, whole, where):
    if whole is not None:
        _expect(whole, attrs, where)
        if "rules" in attrs:
            target = (ROOT / attrs["rules"]).read_text(encoding="utf-8")
            assert _statements(whole) == _statements(target), \
                f"{where}: the assembled plan differs from {attrs['rules']}"
        return
    if "file" in attrs:
        target = (ROOT / attrs["file"]).read_text(encoding="utf-8")
        assert text.split() == target.split(), f"{where}: differs from {attrs['file']}"
    if "excerpt" in attrs:
        target = " ".join((ROOT / attrs["excerpt"]).read_text(encoding="utf-8").split())
        want = " ".join(text.split())
        assert want and f" {want} " in f" {target} ", f"{where}: not an excerpt of {attrs['excerpt']}"
        return
    if "variant" in attrs:
        base = (ROOT / attrs["variant"]).read_text(encoding="utf-8")
        _expect(_variant(base, text), attrs, where)
        return
    if "fragment" in attrs:
        text = PRELUDE.read_text(encoding="utf-8") + text
    _expect(text, attrs, where)


# ------------------------------------------------------------------------- variants that run
def _variant_runs():
    for page in _pages():
        blocks = list(_blocks(page))
        for (lang, attrs, text, line), nxt in zip(blocks, blocks[1:] + [None]):
            if lang == "kam" and "variant" in attrs and "data" in attrs:
                where = f"{page.relative_to(ROOT)}:{line}"
                expected = nxt[2] if nxt is not None and nxt[0] == "csv" else None
                yield pytest.param(attrs, text, expected, where, id=where)


@pytest.mark.parametrize("attrs, text, expected, where", list(_variant_runs()))
def test_variant_run(attrs, text, expected, where, tmp_path):
    assert expected is not None, f"{where}: a variant with data= is followed by a ```csv block"
    plan = tmp_path / Path(attrs["variant"]).name
    plan.write_text(_variant((ROOT / attrs["variant"]).read_text(encoding="utf-8"), text), encoding="utf-8")
    argv = ["run", str(plan), "--data", attrs["data"], "-q"]
    if "period" in attrs:
        argv += ["--period", attrs["period"]]
    code, out, err = _run_in_process(argv)
    assert code == 0, f"{where}: {err}"
    assert out.splitlines() == expected.splitlines(), f"{where}: the variant printed\n{out}"


# ------------------------------------------------------------------------- console blocks
def _commands(text: str):
    """(command line, expected stdout lines) pairs of a console block."""
    out = []
    for line in text.splitlines():
        if line.startswith("$ "):
            out.append((line[2:], []))
        elif out:
            out[-1][1].append(line)
    return out


def _same_line(got: str, want: str) -> bool:
    """Equal lines; `[line ?]` in `want` stands for any plan line number (layout-free)."""
    if "[line ?]" not in want:
        return got == want
    pattern = "".join(r"\[line \d+\]" if part == "[line ?]" else re.escape(part)
                      for part in re.split(r"(\[line \?\])", want))
    return re.fullmatch(pattern, got) is not None


def _matches(got: list[str], want: list[str]) -> bool:
    """Line-by-line equality; a `...` line in `want` matches any run of lines (maybe none)."""
    if not want:
        return not got
    if want[0] == "...":
        return any(_matches(got[k:], want[1:]) for k in range(len(got) + 1))
    return bool(got) and _same_line(got[0], want[0]) and _matches(got[1:], want[1:])


def _run_in_process(argv: list[str]):
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli_main(argv)
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else 1
    finally:
        os.chdir(cwd)
    return code, out.getvalue(), err.getvalue()


def _console_cases():
    for page, attrs, text, line in _all("console"):
        for k, (cmd, want) in enumerate(_commands(text)):
            where = f"{page.relative_to(ROOT)}:{line}"
            yield pytest.param(cmd, want, attrs, where, id=f"{where}#{k}")


@pytest.mark.parametrize("cmd, want, attrs, where", list(_console_cases()))
def test_console_block(cmd, want, attrs, where):
    argv = shlex.split(cmd)
    assert argv[0] == "kamrules", f"{where}: console commands start with `kamrules`"
    code, out, err = _run_in_process(argv[1:])
    assert code == int(attrs.get("exit", 0)), f"{where}: `{cmd}` exited {code}\n{err}"
    got = (err if "stderr" in attrs else out).splitlines()
    while want and want[-1] == "":
        want = want[:-1]
    assert _matches(got, want), f"{where}: `{cmd}` printed\n" + "\n".join(got)


def test_a_docs_command_as_a_real_subprocess():
    """The in-process runner prints what `python -m kamrules` prints."""
    cmd, want, _, where = next(iter(_console_cases())).values
    res = run_cli_process(*shlex.split(cmd)[1:])
    assert res.returncode == 0, res.stderr
    assert _matches(res.stdout.splitlines(), [w for w in want if w != ""] or want), where


# ------------------------------------------------------------------------- the harness itself
def test_harness_rejects_what_it_should():
    good = PRELUDE.read_text(encoding="utf-8")
    assert _codes(good) == []
    assert _codes(good + "component c = 1 EUR + 5\n") == ["KR203"]
    assert _codes(good + "component = 1\n") == ["KR001"]
    assert _matches(["a", "b", "c"], ["a", "...", "c"])
    assert not _matches(["a", "b"], ["a"])
    assert not _matches(["a", "x"], ["a", "b"])
    assert _matches(["  x = 1  [line 12]"], ["  x = 1  [line ?]"])
    assert not _matches(["  x = 2  [line 12]"], ["  x = 1  [line ?]"])
    base = good + "param rate = 5%\ncomponent c = payee.annual_variable * rate\n"
    swapped = _variant(base, "param rate = 7%\nlet extra = 1\n")
    assert "param rate = 5%" not in swapped
    assert swapped.endswith("param rate = 7%\ncomponent c = payee.annual_variable * rate\nlet extra = 1\n")
    assert _statements("plan \"x\"  # c\nparam a = 1\n") == _statements("param  a = 1\nplan \"x\"\n")


# ------------------------------------------------------------------------- the pages themselves
LANGUAGES = {"kam", "console", "csv", "text", "toml", "mermaid", "json", "yaml", "session"}  # session: docs/payroll.md, run in order by tests/test_ledger_docs.py
# An absolute path of the machine the docs were written on: a reader has none of them.
MACHINE_PATH = re.compile(r"(?<![\w.~-])/(?:(?:work|home|root|Users|private/var|var/folders)/|tmp/pytest)")


def fence_problems(text: str) -> list[str]:
    """What is wrong with the code fences of a page: a fence left open, a closing fence
    with words after it (```` ```kA grid... ````: an opening fence by mistake), an opening
    fence inside a block, an unknown language."""
    out, open_at = [], None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.lstrip().startswith("```"):
            continue
        info = line.strip()[3:]
        if open_at is None:
            lang = info.split()[0] if info.split() else ""
            if lang and lang not in LANGUAGES:
                out.append(f"line {n}: unknown language `{lang}` (a sentence on the fence line?)")
            open_at = n
        elif info.strip():
            out.append(f"line {n}: a fence opens inside the block opened on line {open_at}")
        else:
            open_at = None
    if open_at is not None:
        out.append(f"line {open_at}: the fence is never closed")
    return out


MARKDOWN = sorted([*DOCS.rglob("*.md"), ROOT / "README.md"])


@pytest.mark.parametrize("page", MARKDOWN, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_fences_are_balanced_and_paths_are_not_a_machine_s(page):
    text = page.read_text(encoding="utf-8")
    assert not fence_problems(text), f"{page.relative_to(ROOT)}: " + "; ".join(fence_problems(text))
    found = [f"line {text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}" for m in MACHINE_PATH.finditer(text)]
    assert not found, f"{page.relative_to(ROOT)}: absolute paths of a build machine: {found}"


def test_the_page_checks_catch_what_they_should():
    assert fence_problems("```kam\nx\n```\n") == []
    assert fence_problems("```kA grid on two inputs:\n\n```kam fragment\nx\n```\n")[0].startswith("line 1: unknown")
    assert fence_problems("```kam\nx\n```kam\ny\n```\n") == ["line 3: a fence opens inside the block opened on line 1"]
    assert fence_problems("text\n```console\n$ kamrules run\n") == ["line 2: the fence is never closed"]
    for path in ("see /work/shared/cases/README.md", "at /tmp/pytest-of-root/x", "in /home/ci/kamrules",
                 "/Users/me/plans"):
        assert MACHINE_PATH.search(path), path
    for fine in ("plans/tests/x", "-o /srv/payroll/out.csv", "docs/work/x", "~/home/x", "/dev/stdout"):
        assert not MACHINE_PATH.search(fine), fine


def test_the_french_tutorial_says_what_the_english_one_says():
    """docs/fr/tutorial.md is the English tutorial translated: the same plan blocks in the
    same order (comments aside: they are translated) and the same commands and outputs."""
    def code(page, key):
        out = []
        for lang, attrs, text, _ in _blocks(DOCS / page):
            attrs = {k: (v if k not in ("name", "append") else key) for k, v in attrs.items()}
            if lang == "kam":
                text = "\n".join(line[:_comment_start(line)] if _comment_start(line) is not None else line
                                 for line in text.splitlines())
            out.append((lang, attrs, " ".join(text.split())))
        return out
    english, french = code("tutorial.md", "t"), code("fr/tutorial.md", "t")
    assert len(english) >= 10 and french == english


def test_every_page_is_linked_from_the_index():
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for page in _pages():
        rel = page.relative_to(DOCS).as_posix()
        if rel != "index.md":
            assert f"({rel})" in index, f"docs/index.md does not link {rel}"


def test_every_acceptance_case_has_a_cookbook_page_with_its_plan_and_a_run():
    cases = sorted(p.name for p in (ROOT / "examples").iterdir() if p.name[:2].isdigit())
    assert len(cases) == 9
    for case in cases:
        page = DOCS / "cookbook" / f"{case}.md"
        assert page.exists(), f"no cookbook page for {case}"
        blocks = list(_blocks(page))
        assert any(lang == "kam" and "file" in attrs for lang, attrs, _, _ in blocks), page
        assert any(lang == "console" and f"examples/{case}" in text for lang, _, text, _ in blocks), page
        assert any(lang == "kam" and "variant" in attrs for lang, attrs, _, _ in blocks), page


# ------------------------------------------------------------------------- the CLI against its parser
OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)(?: ([a-z0-9][\w-]*(?:\|[a-z0-9][\w-]*)+))?")


def command_parsers() -> dict:
    """command -> (its argparse parser, its one-line help), in the order of COMMANDS."""
    import argparse

    from kamrules.cli import COMMANDS
    from kamrules.cli.main import build_parser
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: a.help for a in sub._choices_actions}
    return {name: (sub.choices[name], helps[name]) for name in COMMANDS}


def synopsis_drift(name: str, parser, synopsis: str, full_choices: bool) -> list[str]:
    """What a synopsis of `kamrules NAME` says that the parser does not, and the reverse:
    an option that does not exist, an option left out, a list of values (`--format a|b`)
    other than the parser's choices (with full_choices, a choice option shown without them)."""
    actions = [a for a in parser._actions if a.option_strings and a.dest != "help"]
    by_string = {s: a for a in actions for s in a.option_strings}
    shown: dict = {}
    for option, values in OPTION.findall(synopsis.replace("\\|", "|")):
        if option not in by_string:
            return [f"`kamrules {name}` has no option {option}"]
        shown.setdefault(by_string[option].dest, set()).update(values.split("|") if values else ())
    out = [f"`kamrules {name}`: {a.option_strings[-1]} is not documented" for a in actions if a.dest not in shown]
    for a in actions:
        values = shown.get(a.dest)
        if a.choices and values is not None and (values or full_choices) and values != set(a.choices):
            out.append(f"`kamrules {name} {a.option_strings[-1]}` takes {'|'.join(a.choices)}, "
                       f"documented as {'|'.join(sorted(values)) or 'no list'}")
    return out


def test_the_cli_page_says_what_the_parser_does():
    """docs/cli.md is tested against the argument parser: the command table has the parser's
    one-line helps in its order, and each section's synopsis every option, no other, with
    every list of values."""
    page = (DOCS / "cli.md").read_text(encoding="utf-8")
    parsers = command_parsers()
    table = re.findall(r"^\| \[`(\w+)`\]\(#\w+\) \| (.*) \|$", page, re.M)
    assert [(n, h.replace("`", "")) for n, h in table] == [(n, h) for n, (_, h) in parsers.items()]
    drift = []
    for name, (parser, _) in parsers.items():
        section = page.split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]
        synopsis = section.split("```\n", 2)[1]
        assert synopsis.lstrip().startswith(f"kamrules {name}"), name
        drift += synopsis_drift(name, parser, synopsis, full_choices=True)
    assert not drift, "\n".join(drift)


def test_every_command_help_ends_with_examples_that_parse():
    from kamrules.cli.main import build_parser
    for name, (parser, _) in command_parsers().items():
        help_text = parser.format_help()
        tail = help_text.rstrip("\n").split("\nexamples:\n")
        assert len(tail) == 2, f"`kamrules {name} --help` does not end with examples"
        lines = tail[1].splitlines()
        assert 2 <= len(lines) <= 3 and all(line.startswith(f"  kamrules {name}") for line in lines), lines
        for line in lines:
            argv = shlex.split(line)[1:]
            args = build_parser().parse_args(argv)  # a usage error would exit 2
            assert args.command == name
            for word in argv:
                if re.match(r"^(plans|examples|docs)/", word) and "*" not in word:
                    assert (ROOT / word).exists(), f"{line}: {word} does not exist"


def test_every_command_has_a_section_in_the_cli_page():
    from kamrules.cli import COMMANDS
    page = (DOCS / "cli.md").read_text(encoding="utf-8")
    for name in COMMANDS:
        assert f"\n## {name}\n" in page, f"docs/cli.md has no section for `kamrules {name}`"
