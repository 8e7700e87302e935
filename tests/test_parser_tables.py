"""The LALR parser shipped in the package (kamrules/syntax/tables.py): built from today's
grammar, the same parser as a fresh build, and nothing written at run time."""
from __future__ import annotations

import io
import tempfile
from importlib import resources

import lark
import pytest

from conftest import PLANS, ROOT
from kamrules.syntax import parser, tables


def test_the_shipped_tables_are_built_from_the_grammar_of_this_checkout():
    blob = resources.files("kamrules").joinpath(tables.TABLES).read_bytes()
    head = blob.partition(b"\n")[0] + b"\n"
    assert head == tables.header(tables.grammar_text()), (
        "grammar/kamrules.lark changed: run `python -m kamrules.syntax.tables` and commit "
        "kamrules/grammar/kamrules.lark.tables")
    # the digest follows the text: one more space in the grammar is another header
    assert tables.header(tables.grammar_text() + " ") != head


@pytest.fixture(scope="module")
def fresh():
    """The parser built from the grammar (a tenth of a second: built once here)."""
    return tables.build(tables.grammar_text())


def test_the_shipped_parser_parses_every_plan_as_a_fresh_build_does(fresh):
    shipped = tables.shipped(tables.grammar_text())
    assert shipped is not None
    plans = sorted(PLANS.glob("*.kam")) + [ROOT / "bench" / "abtasty-monthly.kam"]
    assert len(plans) >= 10
    for path in plans:
        source = path.read_text(encoding="utf-8")
        assert shipped.parse(source) == fresh.parse(source), path
    # and words a syntax error the same way: the same place, the same expected terminals
    broken = (PLANS / "kam-capped.kam").read_text(encoding="utf-8").replace("component", "component =", 1)
    errors = []
    for p in (shipped, fresh):
        with pytest.raises(lark.exceptions.UnexpectedInput) as err:
            p.parse(broken)
        errors.append((err.value.line, err.value.column, sorted(getattr(err.value, "expected", ()) or ())))
    assert errors[0] == errors[1] and errors[0][2]


def test_tables_of_another_grammar_are_not_used_and_nothing_is_written(tmp_path, monkeypatch):
    assert tables.shipped(tables.grammar_text().replace("plan", "plam", 1)) is None
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    parser._lark.cache_clear()
    parser._driver.cache_clear()
    try:
        plan = parser.parse((PLANS / "kam-capped.kam").read_text(encoding="utf-8"), "kam-capped.kam")
        with pytest.raises(parser.KamError):
            parser.parse("plan plan\n", "bad.kam")  # the reference path: Lark's own parser
    finally:
        parser._lark.cache_clear()
        parser._driver.cache_clear()
    assert plan.statements
    assert list(tmp_path.iterdir()) == []  # no .lark_cache file in the temporary folder


def test_write_saves_the_parser_behind_its_header(tmp_path, monkeypatch, fresh):
    monkeypatch.setattr(tables, "build", lambda text: fresh)
    out = tables.write(str(tmp_path / "t.tables"))
    head, _, body = open(out, "rb").read().partition(b"\n")
    assert head + b"\n" == tables.header(tables.grammar_text())
    source = (PLANS / "team-bonus.kam").read_text(encoding="utf-8")
    assert lark.Lark.load(io.BytesIO(body)).parse(source) == fresh.parse(source)
