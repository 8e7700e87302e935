"""The fast loader's shortcuts give the strict loader's verdicts (kamrules/data/fast.py):
a column whose cells are all at most MAX_CELL_CHARS bytes skips counting characters (a
cell's characters are at most its bytes); a CR is rewritten only when one is not followed
by LF (one regex pass instead of counting CRs and CRLFs)."""
from __future__ import annotations

from unittest import mock

import pytest

pl = pytest.importorskip("polars")

from hypothesis import given, strategies as st  # noqa: E402

from kamrules.core import limits  # noqa: E402
from kamrules.data import fast  # noqa: E402

# one-byte, two-byte (é), three-byte (€) and four-byte (𝟘) characters, and padding
CHARS = st.sampled_from(["a", "1", "é", "€", "\U0001d7d8", " ", "\u00a0"])


@given(raw=st.lists(st.lists(CHARS, max_size=9).map("".join), min_size=1, max_size=5))
def test_a_cell_is_too_long_exactly_when_it_has_more_characters_than_the_limit(raw):
    with mock.patch.object(limits, "MAX_CELL_CHARS", 5):
        # the cells as one column, and each alone (a column of short cells only)
        got = fast.typed_cells(raw, "text") + [v for cell in raw for v in fast.typed_cells([cell], "text")]
    for cell, (outcome, value) in zip(raw + raw, got):
        # the strict loader (strict.Table.add): KR408 when len(cell) > MAX_CELL_CHARS, in characters
        want = "refused" if len(cell) > 5 else "ok"
        assert outcome == want, (cell, len(cell), len(cell.encode()))
        if want == "ok":
            assert value == (cell.strip() or None)


def test_long_columns_counts_bytes():
    frame = pl.DataFrame({"a": ["é" * 3, "x"], "b": ["abc", "abcdef"]})
    with mock.patch.object(limits, "MAX_CELL_CHARS", 5):
        # a: 6 bytes (3 characters), b: 6 bytes: both may hold a long cell, and are checked
        assert fast._long_columns(frame) == {"a", "b"}
    with mock.patch.object(limits, "MAX_CELL_CHARS", 6):
        assert fast._long_columns(frame) == set()


@given(lines=st.lists(st.lists(st.sampled_from(["a", "1", ",", "\r", "\r\n", "\n"]), max_size=6).map("".join),
                      min_size=1, max_size=6))
def test_the_lone_cr_test_is_counting_crs_and_crlfs(lines):
    blob = "\n".join(lines).encode()
    # the former test: some CR is not part of a CRLF
    assert bool(fast._LONE_CR.search(blob)) == (blob.count(b"\r") != blob.count(b"\r\n"))
