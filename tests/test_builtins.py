"""The registry of built-ins (kamrules/core/builtins.py) is the one list every layer reads: each
entry has a typing rule in the checker, a lowering in the interpreter and one in the
columnar engine; the highlighter, the checker and the parallel runner take their names
from it. A built-in added to one layer only fails here."""
from __future__ import annotations

from pathlib import Path

from kamrules.core import builtins as registry
from kamrules.check.calls import BUILTINS as CHECKER_NAMES, CallChecks
from kamrules.backends.polars import builtins as columnar_calls
from kamrules.backends.polars.frame import Frame
from kamrules.backends.interp.evaluator import Evaluator
from kamrules.run.parallel import WHOLE_POPULATION_CALLS
from kamrules.syntax.highlight import BUILTINS as HIGHLIGHTED

ROOT = Path(__file__).resolve().parent.parent


def test_every_builtin_is_typed_by_the_checker():
    assert set(CHECKER_NAMES) == set(registry.REGISTRY)
    missing = [n for n in registry.REGISTRY if not hasattr(CallChecks, f"_call_{n}")]
    assert missing == []


def test_every_builtin_has_an_interpreter_lowering():
    assert [n for n in registry.REGISTRY if not hasattr(Evaluator, f"_call_{n}")] == []


def test_every_builtin_has_a_columnar_lowering():
    lowered = {n for n in registry.REGISTRY
               if hasattr(Frame, f"_call_{n}") or n in columnar_calls.CALLS or n in registry.AGGREGATES}
    assert lowered == set(registry.REGISTRY)


def test_the_highlighter_and_the_parallel_runner_read_the_registry():
    assert tuple(HIGHLIGHTED) == registry.NAMES
    assert WHOLE_POPULATION_CALLS == {"share", "team_total"} == registry.WHOLE_POPULATION
    assert registry.HISTORY == {"paid"}


def test_every_builtin_is_documented_in_the_language_reference():
    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    assert [n for n in registry.REGISTRY if f"`{n}(" not in text] == []


def test_signatures_name_the_builtin_and_close_their_brackets():
    for name, b in registry.REGISTRY.items():
        assert b.signature.startswith(f"{name}(") and b.signature.count("(") == b.signature.count(")")
        assert b.summary and not b.summary.endswith(".")
