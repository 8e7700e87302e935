"""Plan tests (`kamrules test`): discovery beside plans, the comparison contract, failures shown
as a diff table, errors as diagnostics, JUnit XML; and every plan in plans/ carries tests."""
from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from decimal import Decimal

from hypothesis import given, settings, strategies as st

from conftest import PLANS, ROOT, examples, run_cli
from kamrules.run.plantest import Expected, cases_of, compare

ACCEPTANCE_PLANS = ["abtasty-kam", "charter-split", "clawback-cash", "emotion-ai-challenge",
                    "equipment-colour-grid", "kam-capped", "kam-uncapped", "media-advance",
                    "multi-year-booster", "pharma-rire"]


def _plan_with_case(tmp_path, stem="clawback-cash", case="c1"):
    """A copy of a plan in tmp_path with one case folder holding the acceptance inputs."""
    shutil.copy(PLANS / f"{stem}.kam", tmp_path / f"{stem}.kam")
    folder = tmp_path / "tests" / stem / case
    shutil.copytree(PLANS / "tests" / stem / "acceptance", folder)
    (folder / "case.toml").unlink(missing_ok=True)
    return folder


def test_every_plan_in_plans_passes_its_tests():
    res = run_cli("test", "plans")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "FAIL" not in res.stdout and "ERROR" not in res.stdout
    assert "passed" in res.stdout.splitlines()[-1]


def test_every_plan_in_plans_carries_at_least_two_cases():
    for plan in sorted(PLANS.glob("*.kam")):
        assert len(cases_of(str(plan))) >= 2, (
            f"{plan.name}: add at least two case folders under plans/tests/{plan.stem}/ "
            "(inputs + expected.csv computed by hand; see kamrules/run/plantest.py)")


def test_each_case_plan_has_the_acceptance_case_and_a_hand_made_one():
    for stem in ACCEPTANCE_PLANS:
        names = [c.name for c in cases_of(str(PLANS / f"{stem}.kam"))]
        assert any(n.startswith("acceptance") for n in names), stem
        assert any(not n.startswith("acceptance") for n in names), stem


def test_a_wrong_amount_fails_with_a_diff_table_and_exit_1(tmp_path):
    folder = _plan_with_case(tmp_path)
    text = (folder / "expected.csv").read_text()
    # ae-020 books 10% of 100,000 in January (10,000.00); claim 1.00 more than that.
    line = next(l for l in text.splitlines() if l.startswith("ae-020,2025-01,booking_commission"))
    amount = Decimal(line.split(",")[3])
    wrong = line.replace(f",{line.split(',')[3]},", f",{amount + 1:.2f},")
    (folder / "expected.csv").write_text(text.replace(line, wrong))
    junit = tmp_path / "report.xml"
    res = run_cli("test", tmp_path / "clawback-cash.kam", "--junit-xml", junit)
    assert res.returncode == 1
    assert "FAIL  clawback-cash::c1" in res.stdout
    table = res.stdout.split("rows differ:")[1]
    header, row = table.strip().splitlines()[:2]
    assert header.split()[:6] == ["payee", "period", "component", "expected", "actual", "difference"]
    assert row.split()[:6] == ["ae-020", "2025-01", "booking_commission", f"{amount + 1:.2f}",
                               f"{amount:.2f}", "-1.00"]
    assert res.stdout.strip().endswith("1 failed, 0 passed in " + res.stdout.strip().split(" in ")[-1])
    suite = ET.parse(junit).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("1", "1", "0")
    assert suite.find("testcase").get("name") == "c1"
    assert "booking_commission" in suite.find("testcase/failure").text


def test_a_computed_row_not_listed_must_be_zero(tmp_path):
    folder = _plan_with_case(tmp_path)
    lines = (folder / "expected.csv").read_text().splitlines()
    dropped = next(l for l in lines[1:] if not l.split(",")[3].strip("-").startswith("0.00")
                   and ",total," not in l)
    (folder / "expected.csv").write_text("\n".join(l for l in lines if l != dropped) + "\n")
    res = run_cli("test", tmp_path / "clawback-cash.kam")
    assert res.returncode == 1
    payee, period, comp, amount = dropped.split(",")[:4]
    assert "not listed in expected.csv" in res.stdout
    row = next(l for l in res.stdout.splitlines() if "not listed" in l).split()
    assert row[:4] == [payee, period, comp, "(not"] and row[6:8] == [amount, "+" + amount]


def test_totals_are_compared_only_when_listed(tmp_path):
    folder = _plan_with_case(tmp_path)
    # every component row listed, no total row: totals are not compared.
    lines = (folder / "expected.csv").read_text().splitlines()
    (folder / "expected.csv").write_text("\n".join(l for l in lines if ",total," not in l) + "\n")
    assert run_cli("test", folder).returncode == 0
    # a wrong total, once listed, is compared
    lines = [l for l in lines if ",total," not in l]
    payee, period = lines[1].split(",")[:2]
    lines.append(f"{payee},{period},total,999999.99,EUR")
    (folder / "expected.csv").write_text("\n".join(lines) + "\n")
    res = run_cli("test", folder)
    assert res.returncode == 1 and "999999.99" in res.stdout


def test_inputs_not_given_come_from_the_data_folder(tmp_path):
    _plan_with_case(tmp_path, case="acceptance")
    edge = tmp_path / "tests" / "clawback-cash" / "only-invoices"
    edge.mkdir()
    (edge / "case.toml").write_text('description = "deals from the other case"\ndata = "../acceptance"\n'
                                    'period = "2025-01"\n')
    (edge / "invoices.csv").write_text("invoice_id,payee_id,account_id,deal_id,amount,invoice_date,paid_date\n"
                                       "inv-x,ae-020,a,dl-0001,1234.50,2025-01-05,2025-01-20\n")
    expected = (tmp_path / "tests" / "clawback-cash" / "acceptance" / "expected.csv").read_text()
    booking = [l for l in expected.splitlines() if l.startswith("ae-020,2025-01,booking_commission")]
    (edge / "expected.csv").write_text("payee_id,period,component,amount,currency\n" + "\n".join(booking)
                                       + "\nae-020,2025-01,cash_commission,123.45,EUR\n")
    res = run_cli("test", edge)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 passed" in res.stdout and "::acceptance" not in res.stdout


def test_a_bad_expected_file_is_an_error_with_file_line_and_code(tmp_path):
    folder = _plan_with_case(tmp_path)
    (folder / "expected.csv").write_text("payee_id,period,component,amount\nae-020,2025-01,x,12,50\n"
                                         "ae-020,2025-01,y,1 234.00\n")
    res = run_cli("test", tmp_path / "clawback-cash.kam")
    assert res.returncode == 1
    assert "ERROR clawback-cash::c1" in res.stdout
    assert "expected.csv:3:4: error[KR403]" in res.stdout
    assert "1 error" in res.stdout.splitlines()[-1]


def test_a_missing_input_is_an_error_naming_the_file(tmp_path):
    folder = _plan_with_case(tmp_path)
    (folder / "invoices.csv").unlink()
    res = run_cli("test", folder)
    assert res.returncode == 1
    assert "KR401" in res.stdout and "invoices.csv" in res.stdout
    assert "Traceback" not in res.stdout + res.stderr


def test_a_plan_without_tests_is_reported_and_fails_only_with_strict(tmp_path):
    shutil.copy(PLANS / "clawback-cash.kam", tmp_path / "lonely.kam")
    res = run_cli("test", tmp_path)
    assert res.returncode == 0 and "no tests" in res.stdout
    assert run_cli("test", tmp_path, "--strict").returncode == 1


def test_a_path_that_does_not_exist_exits_1():
    res = run_cli("test", ROOT / "plans" / "nope.kam")
    assert res.returncode == 1 and "KR401" in res.stderr


KEYS = st.tuples(st.sampled_from(["p1", "p2", "p3"]), st.sampled_from(["2025-01", "2025-02"]),
                 st.sampled_from(["a", "b", "total"]))
AMOUNTS = st.decimals(min_value=-10**6, max_value=10**6, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=examples(100), deadline=None)
@given(st.dictionaries(KEYS, AMOUNTS, max_size=12), st.data())
def test_compare_listing_the_computed_rows_passes_and_one_change_is_one_mismatch(actual, data):
    computed = {k: (v, "EUR") for k, v in actual.items()}
    listed = {k: Expected(v, "EUR", "", 2) for k, v in actual.items() if v != 0 or data.draw(st.booleans())}
    assert compare(computed, listed) == []
    if listed:
        key = data.draw(st.sampled_from(sorted(listed)))
        delta = data.draw(AMOUNTS.filter(lambda d: d != 0))
        listed[key] = Expected(listed[key].amount + delta, "EUR", "", 2)
        [m] = compare(computed, listed)
        assert (m.payee_id, m.period, m.component) == key and m.difference == -delta


def test_a_case_can_expect_the_run_to_stop_with_a_code(tmp_path):
    folder = _plan_with_case(tmp_path)
    (folder / "expected.csv").unlink()
    # a won deal with no close date cannot be read: the data error KR403
    deals = folder / "deals.csv"
    lines = deals.read_text().splitlines()
    lines[1] = lines[1].replace("2025-01-15", "")
    deals.write_text("\n".join(lines) + "\n")
    (folder / "case.toml").write_text('error = "KR403"\n')
    res = run_cli("test", folder)
    assert res.returncode == 0, res.stdout
    (folder / "case.toml").write_text('error = "KR405"\n')
    res = run_cli("test", folder)
    assert res.returncode == 1
    assert "expected the run to stop with KR405, it stopped with KR403" in res.stdout
    deals.write_text("\n".join(lines[:1] + lines[2:]) + "\n")  # now the data are fine
    res = run_cli("test", folder)
    assert res.returncode == 1 and "expected the run to stop with KR405, but it computed" in res.stdout


def test_paths_relative_to_the_plans_folder_name_each_case_once():
    res = run_cli("test", "tests/team-bonus/example", ".", "tests/team-bonus", cwd=PLANS)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("team-bonus::example") == 1
    assert len([l for l in res.stdout.splitlines() if l.startswith("PASS")]) == \
        sum(len(cases_of(str(p))) for p in PLANS.glob("*.kam"))


def test_a_plan_with_check_errors_makes_each_of_its_cases_an_error(tmp_path):
    _plan_with_case(tmp_path, case="c1")
    _plan_with_case(tmp_path, case="c2")
    plan = tmp_path / "clawback-cash.kam"
    plan.write_text(plan.read_text().replace("sum(amount * rate for booked)", "sum(amount * rat for booked)"))
    res = run_cli("test", plan)
    assert res.returncode == 1
    assert "ERROR clawback-cash::c1" in res.stdout and "ERROR clawback-cash::c2" in res.stdout
    assert "error[KR101]" in res.stdout and "2 errors" in res.stdout.splitlines()[-1]


def test_an_unwritable_junit_path_is_a_diagnostic_not_a_traceback(tmp_path):
    res = run_cli("test", PLANS / "team-bonus.kam", "--junit-xml", tmp_path / "no" / "such" / "r.xml")
    assert res.returncode == 1
    assert "KR701" in res.stderr and "Traceback" not in res.stderr


def test_inputs_not_given_default_to_the_acceptance_case(tmp_path):
    _plan_with_case(tmp_path, case="acceptance")
    edge = tmp_path / "tests" / "clawback-cash" / "no-invoices-paid"
    edge.mkdir()
    (edge / "invoices.csv").write_text("invoice_id,payee_id,amount,paid_date\n"
                                       "inv-1,ae-020,1000,\n")
    # ae-020 bookings from the acceptance deals: Jan 10% x 100,000; no cash at all
    (edge / "expected.csv").write_text("payee_id,period,component,amount,currency\n"
                                       "ae-020,2025-01,booking_commission,10000.00,EUR\n"
                                       "ae-020,2025-01,cash_commission,0.00,EUR\n")
    (edge / "case.toml").write_text('period = "2025-01"\n')
    res = run_cli("test", edge)
    assert res.returncode == 0, res.stdout + res.stderr
    (tmp_path / "tests" / "clawback-cash" / "acceptance" / "deals.csv").unlink()
    res = run_cli("test", edge)
    assert res.returncode == 1 and "KR401" in res.stdout and "deals.csv" in res.stdout
