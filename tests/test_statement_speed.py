"""What makes `statement --all` fast must not change a word of it: the what-ifs re-run in
batches through the columnar engine (report/whatif_batch.py) give the statements the
interpreter's one-payee re-runs give; the learnt number shapes (report/i18n.Shape) write
what Babel writes; a payee whose credited row another payee shares is re-run alone."""
from __future__ import annotations

import csv
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_decimal, get_currency_precision
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import EXAMPLES, PLANS, run_cli
from kamrules.portal import pages
from test_statement import RETRO as RETRO_ONE

# test_statement.py's plan, with a second payee credited on some deals
RETRO = RETRO_ONE.replace("  payee_id: Text\n  amount", "  payee_id: Text\n  second_id: optional Text\n  amount").replace(
    "where payee_id == payee.id and", "where (payee_id == payee.id or second_id == payee.id) and")


def _same_as_one_by_one(plan, data, ids, tmp_path, *extra):
    out = tmp_path / "all"
    r = run_cli("statement", plan, "--data", data, "--all", "-o", out, "--format", "md", *extra)
    assert r.returncode == 0, r.stderr
    for pid in ids:
        one = run_cli("statement", plan, "--data", data, "--payee", pid, "--format", "md", *extra)
        assert one.returncode == 0, one.stderr
        assert (out / f"{pid}.md").read_text(encoding="utf-8") == one.stdout, pid
    return out


def test_batched_what_ifs_equal_the_interpreter_reruns_case_01(tmp_path, monkeypatch):
    monkeypatch.setattr(pages, "BATCH_FROM", 2)  # batched from two payees (else from hundreds)
    out = _same_as_one_by_one(PLANS / "abtasty-kam.kam", EXAMPLES / "01-abtasty-nrr-upsell",
                              ["am-003", "kam-001", "kam-002"], tmp_path)
    # and they are there: kam-002's next tier on nrr, computed by hand in test_statement.py
    assert "€90,000.00 more expansion before March 31, 2025 reaches the next tier" in (
        out / "kam-002.md").read_text(encoding="utf-8")


def test_a_row_credited_to_two_payees_is_changed_for_one_at_a_time(tmp_path, monkeypatch):
    monkeypatch.setattr(pages, "BATCH_FROM", 2)  # batched from two payees (else from hundreds)
    (tmp_path / "retro.kam").write_text(RETRO, encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    (data / "people.csv").write_text("payee_id\np1\np2\np3\n", encoding="utf-8")
    # d1 is credited to p1 and p2 (its second): changing it for p1 moves p2's bookings too
    (data / "deals.csv").write_text("deal_id,payee_id,second_id,amount,close_date\n"
                                    "d1,p1,p2,150000,2025-01-10\nd2,p2,,10000,2025-02-10\n"
                                    "d3,p3,,50000,2025-02-11\n", encoding="utf-8")
    out = _same_as_one_by_one(tmp_path / "retro.kam", data, ["p1", "p2", "p3"], tmp_path)
    # p1: 150,000 -> 1% more (1,500) pays 151,500 x 8% - 12,000 = 120; 50,000 more reaches 12%:
    # 200,000 x 12% - 12,000 = 12,000. p2: 160,000 (d1 + d2), d1 its largest row: 40,000 more
    text = (out / "p1.md").read_text(encoding="utf-8")
    assert "€1,500.00 more bookings before March 31, 2025 would pay €120.00 more on bonus" in text
    assert "€50,000.00 more bookings before March 31, 2025 reaches the next tier" in text
    assert "would pay €12,000.00 more on bonus" in text
    text = (out / "p2.md").read_text(encoding="utf-8")
    assert "€40,000.00 more bookings before March 31, 2025 reaches the next tier" in text
    assert f"would pay €{200_000 * Decimal('0.12') - 160_000 * Decimal('0.08'):,.2f} more on bonus" in text


def _babel_money(babel, v: Decimal, cur):
    from kamrules.report.i18n import spaced_currency
    digits = get_currency_precision(cur) if cur else 2
    q = v.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    q = abs(q) if q == 0 else q
    if cur is None:
        return format_decimal(q, format="#,##0.00", locale=babel)
    return spaced_currency(q, cur, locale=babel, currency_digits=True)  # babel + CLDR's currency spacing


@settings(max_examples=300, deadline=None)
@given(st.integers(-10**12, 10**12), st.integers(0, 9), st.sampled_from(["en", "fr"]),
       st.sampled_from(["EUR", "USD", "GBP", "JPY", "CHF", None]))
def test_learnt_shapes_write_what_babel_writes(n, places, lang, cur):
    from kamrules.report.i18n import get
    L = get(lang)
    v = Decimal(n).scaleb(-places)
    assert L.money(v, cur) == _babel_money(L.babel, v, cur)
    rounded = v.quantize(Decimal("0.000001"), rounding="ROUND_HALF_EVEN")
    if rounded or v >= 0:  # Babel writes "-0" for a negative value rounded to zero; we write 0
        assert L.number(v) == format_decimal(v, format="#,##0.######", locale=L.babel)
    p = (v * 100).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    text = format_decimal(abs(p) if p == 0 else p, format="#,##0.####", locale=L.babel)  # no "-0%"
    assert L.percent(v) == (f"{text}\u202f%" if lang == "fr" else f"{text}%")


def test_bench_entry_reports_ms_per_payee(tmp_path):
    import sys
    from conftest import ROOT
    sys.path.insert(0, str(ROOT / "bench"))
    import statements as bench

    got = bench.measure(str(PLANS / "abtasty-kam.kam"), 6, "html", root=str(tmp_path))
    with open(tmp_path / "abtasty-kam-6" / "people.csv", encoding="utf-8") as fh:
        assert got["payees"] == len(list(csv.DictReader(fh))) == got["files"] == 6
    assert got["exit"] == 0 and got["ms_per_payee"] > 0 and got["load_average"] >= 0


def test_all_fsyncs_every_file_before_any_rename_and_the_folder_once_after(tmp_path, monkeypatch):
    """`statement --all`: each file is on disk (fsync) before the first rename, and the folder
    holding them is fsynced once, after the last rename (not once per file)."""
    import os
    import stat

    calls, real_fsync, real_replace = [], os.fsync, os.replace

    def fsync(fd):
        mode = os.fstat(fd).st_mode
        calls.append("file" if stat.S_ISREG(mode) else "dir" if stat.S_ISDIR(mode) else "other")
        return real_fsync(fd)

    def replace(a, b, **kw):
        calls.append("rename")
        return real_replace(a, b, **kw)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    out = tmp_path / "all"
    r = run_cli("statement", PLANS / "abtasty-kam.kam", "--data", EXAMPLES / "01-abtasty-nrr-upsell",
                "--all", "-o", out, "--format", "md")
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(out)) == ["am-003.md", "kam-001.md", "kam-002.md"]
    assert calls == ["file"] * 3 + ["rename"] * 3 + ["dir"]


def _copy_case(src, dst, amounts: dict):
    """The case folder `src` copied to `dst`, the column `amounts[file][0]` of each file in
    `amounts` replaced, row by row, by the values amounts[file][1]."""
    import shutil
    shutil.copytree(src, dst)
    for name, (column, values) in amounts.items():
        with open(dst / name, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        fields = list(rows[0])
        for row, v in zip(rows, values):
            row[column] = str(v)
        with open(dst / name, "w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fields, lineterminator="\n")
            w.writeheader()
            w.writerows(rows)


_AMOUNT = st.integers(1, 400).map(lambda k: k * 500)  # 500 EUR to 200,000 EUR


@settings(max_examples=2, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # the same BATCH_FROM for every example
@given(st.data())
def test_batched_statements_equal_the_one_by_one_ones_on_generated_data(tmp_path_factory, monkeypatch, data):
    """`statement --all` batched (its what-ifs re-run by the columnar engine on clones of the
    payees, every question of a round in one run: report/whatif_clones.py) writes, for every
    payee, the bytes `statement --payee` writes (the interpreter's re-runs of that payee
    alone): case 01's plan (accounts assigned over time) with generated deal and ARR
    amounts, and the retroactive plan (a measure read twice) on generated deals."""
    from kamrules.report.whatif_batch import Batch
    monkeypatch.setattr(pages, "BATCH_FROM", 2)
    cloned, real = [], Batch._run_cloned
    monkeypatch.setattr(Batch, "_run_cloned", lambda self: cloned.append(real(self)) or cloned[-1])
    tmp = tmp_path_factory.mktemp("gen")
    deals = data.draw(st.lists(_AMOUNT, min_size=11, max_size=11), "deal amounts")
    arr = data.draw(st.lists(_AMOUNT.map(lambda a: a * 2), min_size=11, max_size=11), "ARR")
    _copy_case(EXAMPLES / "01-abtasty-nrr-upsell", tmp / "case", {"deals.csv": ("amount", deals),
                                                                   "arr.csv": ("arr", arr)})
    _same_as_one_by_one(PLANS / "abtasty-kam.kam", tmp / "case", ["am-003", "kam-001", "kam-002"], tmp / "a")
    (tmp / "retro.kam").write_text(RETRO_ONE, encoding="utf-8")
    rows = data.draw(st.lists(st.tuples(st.sampled_from(["p1", "p2", "p3"]), _AMOUNT, st.integers(1, 180)),
                              min_size=1, max_size=8), "deals")
    (tmp / "retro").mkdir()
    (tmp / "retro" / "people.csv").write_text("payee_id\np1\np2\np3\n", encoding="utf-8")
    import datetime as dt
    lines = [f"d{i},{p},{a},{dt.date(2025, 1, 1) + dt.timedelta(days=d - 1)}" for i, (p, a, d) in enumerate(rows)]
    (tmp / "retro" / "deals.csv").write_text("deal_id,payee_id,amount,close_date\n" + "\n".join(lines) + "\n",
                                             encoding="utf-8")
    _same_as_one_by_one(tmp / "retro.kam", tmp / "retro", ["p1", "p2", "p3"], tmp / "r")
    assert cloned == [True, True]  # both asked their questions on clones


def test_a_plan_reading_a_row_by_another_link_is_not_cloned(tmp_path, monkeypatch):
    """A deal credited to its payee or to a second one (`or`: no link the clones can copy
    by) is asked by rounds of changed rows, not on clones (and still gives --payee's bytes)."""
    from kamrules.report.whatif_batch import Batch
    monkeypatch.setattr(pages, "BATCH_FROM", 2)
    cloned, real = [], Batch._run_cloned
    monkeypatch.setattr(Batch, "_run_cloned", lambda self: cloned.append(real(self)) or cloned[-1])
    test_a_row_credited_to_two_payees_is_changed_for_one_at_a_time(tmp_path, monkeypatch)
    assert cloned == [False]


def test_the_cycle_collector_is_paused_while_statements_are_computed(tmp_path, monkeypatch):
    """cli/statement.py pauses the cyclic garbage collector for the command (its passes over
    the statements kept until written were a fifth of `--all`'s CPU), and restores it after."""
    import gc
    seen, real = [], pages.statements
    monkeypatch.setattr("kamrules.cli.statement.statements", lambda *a, **k: seen.append(gc.isenabled()) or real(*a, **k))
    assert gc.isenabled()
    r = run_cli("statement", PLANS / "abtasty-kam.kam", "--data", EXAMPLES / "01-abtasty-nrr-upsell", "--all",
                "-o", tmp_path / "s", "--format", "md")
    assert r.returncode == 0, r.stderr
    assert seen == [False] and gc.isenabled()


def test_the_portal_builds_its_statements_with_the_cycle_collector_paused(monkeypatch):
    """The portal's statements (portal/pages.statements, as the portal calls it) are built
    with the collector paused as the command's are, and it runs again after."""
    import gc
    from kamrules.portal.app import Portal
    seen, real = [], pages.build_statement
    monkeypatch.setattr(pages, "build_statement", lambda *a, **k: seen.append(gc.isenabled()) or real(*a, **k))
    assert gc.isenabled()
    page = Portal(str(PLANS / "abtasty-kam.kam"), str(EXAMPLES / "01-abtasty-nrr-upsell")).statement("kam-002", "en")
    assert page is not None and "kam-002" in page
    assert seen == [False] and gc.isenabled()


@settings(max_examples=60, deadline=None)
@given(st.integers(-10**12, 10**12), st.integers(0, 6), st.integers(0, 3), st.sampled_from(["en", "fr"]))
def test_amounts_written_once_per_value_are_written_as_the_uncached_code_writes_them(n, places, zeros, lang):
    """Locale.money, Locale.percent and words.value keep each text by value (1.0 and 1.00 are
    one key): the kept text must be what the uncached code writes for every form of it."""
    from kamrules.core.numeric import Money
    from kamrules.report import i18n, words
    L = i18n.get(lang)
    v = Decimal(n).scaleb(-places)
    forms = [v, Decimal(str(v) + ("0" * zeros if "." in str(v) else "." + "0" * zeros if zeros else ""))]
    for x in forms:  # the first form fills the caches, the second reads them
        assert L.money(Money(x, "EUR")) == L._money(x, "EUR")
        assert L.percent(x) == L._percent(x, 4, ROUND_HALF_UP)
        for unit in (None, "rate"):
            for loc in (None, L):
                assert words.value(x, unit, loc) == words._value(x, unit, loc)
                assert words.value(Money(x, "EUR"), unit, loc) == words._value(Money(x, "EUR"), unit, loc)


def test_all_sizes_polars_pool_to_one_thread_unless_the_user_did(tmp_path):
    """cli/statement.py `one_polars_thread` (for --all): in a process that has not imported
    polars, the pool is made with one thread and the variable is gone again (a child gets the
    user's environment); a POLARS_MAX_THREADS the user set is kept, and decides the pool."""
    import os
    import subprocess
    import sys
    from conftest import ROOT
    code = ("import os, sys; from kamrules.cli.statement import one_polars_thread; one_polars_thread(); "
            "import polars; print(polars.thread_pool_size(), os.environ.get('POLARS_MAX_THREADS'))")
    env = {k: v for k, v in os.environ.items() if k != "POLARS_MAX_THREADS"}
    got = [subprocess.run([sys.executable, "-c", code], env={**env, **extra}, cwd=ROOT, capture_output=True,
                          text=True).stdout.split() for extra in ({}, {"POLARS_MAX_THREADS": "2"})]
    assert got == [["1", "None"], ["2", "2"]]


def test_clones_that_do_not_give_their_payees_amounts_are_not_used(tmp_path, monkeypatch):
    """The payees and their unchanged clones run together once (whatif_batch `_together`):
    a clone that does not get what its payee gets (here: its copies of the deals dropped)
    turns the batch to its rounds of changed rows, which still give --payee's bytes."""
    import polars as pl
    from kamrules.report.whatif_batch import Batch
    from kamrules.report.whatif_clones import Clones
    monkeypatch.setattr(pages, "BATCH_FROM", 2)
    cloned, real, real_frames = [], Batch._run_cloned, Clones.frames
    monkeypatch.setattr(Batch, "_run_cloned", lambda self: cloned.append(real(self)) or cloned[-1])

    def frames(self, questions):
        out = real_frames(self, questions)
        if all(q[2] is None for q in questions):  # the unchanged clones: without their deals
            out["deals"] = out["deals"].filter(pl.lit(False))
        return out
    monkeypatch.setattr(Clones, "frames", frames)
    out = _same_as_one_by_one(PLANS / "abtasty-kam.kam", EXAMPLES / "01-abtasty-nrr-upsell",
                              ["am-003", "kam-001", "kam-002"], tmp_path)
    assert cloned == [False]
    assert "€90,000.00 more expansion before March 31, 2025 reaches the next tier" in (
        out / "kam-002.md").read_text(encoding="utf-8")
