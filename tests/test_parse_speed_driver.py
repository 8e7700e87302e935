"""The fast LALR driver (parser._Driver) gives exactly the reference parser's trees and spans.

`parse` runs the driver and falls back to Lark's tree + transformer (`_reference_parse`) on
anything that is not a valid plan; these tests pin that the driver takes every valid plan of
the repository and of the benchmark, builds the same AST with the same spans as the reference
path, and refuses every text the reference path refuses. No timings here (see bench/).
"""
from __future__ import annotations

import glob
import os
import random
import sys

import attrs
import pytest

from kamrules.diagnostics.diagnostic import KamError
from kamrules.syntax.parser import _driver, _fast_parse, _reference_parse, parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import workload  # noqa: E402

PLANS = sorted(glob.glob(os.path.join(ROOT, "**", "*.kam"), recursive=True))


def shape(node):
    """The whole tree, spans included (node equality ignores spans)."""
    if attrs.has(type(node)):
        return (type(node).__name__,) + tuple((f.name, shape(getattr(node, f.name)))
                                              for f in attrs.fields(type(node)))
    if isinstance(node, (tuple, list)):
        return tuple(shape(x) for x in node)
    return (type(node).__name__, node)


def test_driver_is_available():
    assert _driver() is not None


@pytest.mark.parametrize("path", PLANS, ids=lambda p: os.path.relpath(p, ROOT))
def test_same_tree_and_spans_as_reference(path):
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    try:
        want = _reference_parse(text, path)
    except KamError:
        assert _fast_parse(text, path) is None
        return
    got = _fast_parse(text, path)
    assert got is not None
    assert shape(got) == shape(want)


def test_benchmark_plan_and_tricky_positions():
    texts = [workload.big_plan(300, 11)[0],
             "let x = +a * 2\nlet y = (+a)\nlet z = 1 + +a\nlet w = [ ]\nlet v = f()\n",
             "input t {\n}\ncurve c(a: Rate) {\n  | < 1 | 1 |\n  | any | a |\n}\n",
             "let s = \"a \\\"#\\\" b\" # comment\r\nlet d = 2025-01-01\nlet e = to_x + 1\n",
             ""]
    for text in texts:
        got = _fast_parse(text, "p.kam")
        assert got is not None
        assert shape(got) == shape(_reference_parse(text, "p.kam"))


def test_refuses_what_the_reference_refuses_with_the_same_diagnostic():
    base = [open(p, encoding="utf-8").read() for p in PLANS if "/plans/" in p][:6]
    rng = random.Random(5)
    pieces = ["(", ")", "+ +", "not", "=", "==", "|", "9" * 50, "'", '"', "\n", "let", "for", "2025-13"]
    checked = 0
    for _ in range(150):
        text = rng.choice(base)
        at = rng.randrange(len(text))
        text = text[:at] + rng.choice(pieces) + text[at + rng.randrange(0, 4):]
        try:
            want = _reference_parse(text, "m.kam")
        except KamError as err:
            assert _fast_parse(text, "m.kam") is None
            with pytest.raises(KamError) as got:
                parse(text, "m.kam")
            assert [(d.code, d.message, d.span, d.hint) for d in got.value.diagnostics] == \
                   [(d.code, d.message, d.span, d.hint) for d in err.diagnostics]
            checked += 1
            continue
        assert shape(_fast_parse(text, "m.kam")) == shape(want)
    assert checked > 50


def test_too_deep_is_left_to_the_reference_path():
    text = "let x = " + "-" * 300 + "1\n"
    assert _fast_parse(text, "d.kam") is None
    with pytest.raises(KamError) as err:
        parse(text, "d.kam")
    assert err.value.diagnostics[0].code == "KR005"


def test_limits_prefilter_never_skips_a_problem():
    """`_surely_within_limits` says True only where limits.plan_text_problem finds nothing."""
    from kamrules.core import limits
    from kamrules.syntax.parser import _surely_within_limits
    rng = random.Random(9)
    alphabet = ["(", ")", "[", "]", '"', "#", "\n", "a", " ", "\\"]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) * rng.randrange(1, 40) for _ in range(rng.randrange(1, 12)))
        assert _surely_within_limits(text) == (limits.plan_text_problem(text, "x") is None), text
