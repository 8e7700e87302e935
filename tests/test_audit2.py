"""The second outside audit (tests/data/audit2/): plans and data a RevOps analyst would write,
with shapes the first audit (tests/test_audit.py) did not cover, judged through the command line
(in-process), and each finding kept fixed: fmt breaks a long call or component head, a file
that is not UTF-8 is reported at its first bad byte, `explain --payee` says when `run` stops."""
from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings, strategies as st

from conftest import examples, run_cli

AUDIT2 = Path(__file__).resolve().parent / "data" / "audit2"

_PREAMBLE = """plan "t"
currency EUR
period quarter
input people key payee_id { payee_id: Text  annual_variable: Money  start_date: Date  end_date: optional Date }
input deals { deal_id: Text  owner_id: Text  amount: Money  close_date: Date }
"""


# ---------------------------------------------------------------- fmt: no line over 100 characters
def test_fmt_breaks_a_long_call_and_a_long_component_head_idempotently(tmp_path):
    """A call with no `and`/`or`/`for`/`+` to break at (was one 108-character line) breaks after
    its `(` and `,`; a long `when` head moves to its own line; comments stay; fmt of the output
    is the output."""
    plan = tmp_path / "p.kam"
    plan.write_text(_PREAMBLE + (
        "# lead comment\n"
        "component prorated_variable_component = prorate(payee.start_date, payee.end_date) * "
        "payee.annual_variable / 4  # trail\n"
        "let x = max(booked_amount_in_the_period_total, max(booked_amount_in_the_period_total, booked_amount_in_the_period_total))\n"
        "let booked_amount_in_the_period_total = sum(amount for deals where owner_id == payee.id)\n"
        "component spring from 2025-04-01 to 2025-06-30 when payee.annual_variable > 1000 EUR and "
        "payee.start_date < 2025-04-01 = 100 EUR\n"), encoding="utf-8")
    assert max(len(line) for line in plan.read_text().splitlines()) > 100
    assert run_cli("fmt", plan).returncode == 0
    out = plan.read_text(encoding="utf-8")
    assert max(len(line) for line in out.splitlines()) <= 100, out
    assert "# lead comment\ncomponent prorated_variable_component =\n" in out
    assert "  prorate(payee.start_date, payee.end_date) * payee.annual_variable / 4  # trail\n" in out
    assert "let x =\n  max(booked_amount_in_the_period_total, max(booked_amount_in_the_period_total,\n" in out
    assert ("component spring from 2025-04-01 to 2025-06-30\n"
            "  when payee.annual_variable > 1000 EUR and payee.start_date < 2025-04-01 = 100 EUR\n") in out
    assert run_cli("fmt", "--check", plan).returncode == 0   # idempotent
    assert run_cli("check", plan).returncode == 0            # still the same valid plan


# ---------------------------------------------------------------- a file that is not UTF-8
def _people_plan(tmp_path: Path) -> Path:
    plan = tmp_path / "p.kam"
    plan.write_text('plan "t"\ncurrency EUR\nperiod year\n'
                    "input people key payee_id { payee_id: Text  name: Text  annual_variable: Money }\n"
                    "component variable = payee.annual_variable\n", encoding="utf-8")
    return plan


def test_a_cp1252_csv_is_reported_at_its_first_bad_byte_with_the_encoding_to_convert_from(tmp_path):
    """Excel's "CSV" on Windows: `Zoë` written in Windows-1252 on row 3 (CRLF), byte 0xEB at
    column 9 of the line (was reported at 1:1 with no encoding); both engines say it."""
    plan = _people_plan(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "people.csv").write_bytes(
        "payee_id,name,annual_variable\r\nkam-1,Ann,100\r\nkam-2,Zoë,200\r\n".encode("cp1252"))
    for engine in ("interpreter", "columnar"):
        res = run_cli("run", plan, "--data", tmp_path / "data", "--engine", engine, "-o", tmp_path / "out.csv")
        assert res.returncode == 1 and not (tmp_path / "out.csv").exists()
        assert "people.csv:3:9: error[KR403]" in res.stderr
        assert "byte 0xEB ('ë' in Windows-1252) at line 3, column 9 (offset 54)" in res.stderr
        assert 'convert it from Windows-1252 to UTF-8' in res.stderr
        assert 'input people with encoding "cp1252"' in res.stderr
    # the hint's declaration works: the same file read as declared
    plan.write_text(plan.read_text().replace("input people key", 'input people with encoding "cp1252" key'))
    res = run_cli("run", plan, "--data", tmp_path / "data", "--period", "2025", "-q")
    assert res.returncode == 0 and "kam-2,2025,variable,200.00,EUR" in res.stdout.replace("\r", "")


def test_a_latin1_plan_and_a_utf16_csv_are_reported_at_their_bad_byte(tmp_path):
    plan = _people_plan(tmp_path)
    plan.write_bytes(plan.read_bytes().replace(b'plan "t"', 'plan "Prime été"'.encode("latin-1")))
    res = run_cli("check", plan)
    assert res.returncode == 1
    assert "p.kam:1:13: error[KR401]" in res.stderr and "byte 0xE9 ('é' in Windows-1252)" in res.stderr
    plan = _people_plan(tmp_path)
    (tmp_path / "people.csv").write_text("payee_id,name,annual_variable\nkam-1,Ann,100\n", encoding="utf-16")
    res = run_cli("run", plan, "--data", tmp_path)
    assert res.returncode == 1 and "people.csv:1:1: error[KR403]" in res.stderr
    assert "convert it from UTF-16 to UTF-8" in res.stderr


@settings(max_examples=examples(60))
@given(st.binary(max_size=300), st.integers(1, 7))
def test_bad_utf8_finds_the_byte_a_whole_decode_finds(blob, chunk):
    """Read in chunks of a few bytes (characters cut between chunks), the first bad byte and its
    line are those of decoding the whole file at once."""
    import io
    from unittest import mock
    from kamrules.files import encoding
    with mock.patch.object(encoding, "CHUNK", chunk):
        bad = encoding.bad_utf8(io.BytesIO(blob))
    try:
        blob.decode("utf-8")
        assert bad is None
    except UnicodeDecodeError as err:
        assert bad is not None and bad.offset == err.start and bad.byte == blob[err.start]
        assert bad.line == blob.count(b"\n", 0, err.start) + 1
        tail = blob[:err.start].rsplit(b"\n", 1)[-1]
        tail = tail[3:] if bad.line == 1 and tail.startswith(b"\xef\xbb\xbf") else tail
        assert bad.column == len(tail.decode("utf-8")) + 1


# ---------------------------------------------------------------- explain stops where run stops
_ZERO = """plan "zero"
currency EUR
period quarter
input people key payee_id { payee_id: Text  annual_variable: Money }
input targets { payee_id: Text  target: Money }
input deals { deal_id: Text  owner_id: Text  amount: Money  close_date: Date }
let booked = sum(amount for deals where owner_id == payee.id and close_date in period)
let target = one(target for targets where payee_id == payee.id)
let attainment = booked / target
component variable = payee.annual_variable / 4 * attainment
"""


def test_explain_of_one_payee_stops_with_runs_diagnostic_when_another_payee_stops_the_run(tmp_path):
    """B's target is 0 and B booked nothing: 0/0 stops `run` (KR407 naming B). `explain --payee
    A` printed A's 5,000.00 (40,000 / 4 x 50,000 / 100,000) with exit 0, an amount no run pays;
    it now stops with run's diagnostic, on both engines. With B's target fixed it explains A."""
    plan = tmp_path / "p.kam"
    plan.write_text(_ZERO, encoding="utf-8")
    (tmp_path / "people.csv").write_text("payee_id,annual_variable\nA,40000\nB,40000\n", encoding="utf-8")
    (tmp_path / "targets.csv").write_text("payee_id,target\nA,100000\nB,0\n", encoding="utf-8")
    (tmp_path / "deals.csv").write_text("deal_id,owner_id,amount,close_date\nd1,A,50000,2025-02-01\n",
                                        encoding="utf-8")
    run = run_cli("run", plan, "--data", tmp_path)
    assert run.returncode == 1 and "error[KR407]: undefined operation (0 / 0) [payee B, period 2025-Q1]" in run.stderr
    for engine in ("interpreter", "auto"):
        res = run_cli("explain", plan, "--data", tmp_path, "--payee", "A", "--engine", engine, "-o", tmp_path / "x.txt")
        assert res.returncode == 1 and not (tmp_path / "x.txt").exists()
        assert res.stdout == "" and run.stderr.splitlines()[0] in res.stderr
    (tmp_path / "targets.csv").write_text("payee_id,target\nA,100000\nB,1\n", encoding="utf-8")
    res = run_cli("explain", plan, "--data", tmp_path, "--payee", "A")
    assert res.returncode == 0 and "A 2025-Q1: total 5000.00 EUR" in res.stdout
