"""Time and crediting constructs (issues 3 and 4), with expected numbers computed by hand here.

Each test runs a plan from plans/ on example data from examples/ (or on data written by the
test) through the command line, and checks the payouts against arithmetic done in the test.
"""
from __future__ import annotations

import csv
import io
import shutil
from decimal import Decimal as D, ROUND_HALF_UP

from hypothesis import given, settings, strategies as st, HealthCheck

from conftest import EXAMPLES, PLANS, examples, run_cli


def payouts(plan, data, *extra):
    res = run_cli("run", PLANS / plan, "--data", data, *extra)
    assert res.returncode == 0, res.stderr
    return {(r["payee_id"], r["period"], r["component"]): D(r["amount"])
            for r in csv.DictReader(io.StringIO(res.stdout))}


def cents(x: D) -> D:
    return x.quantize(D("0.01"), rounding=ROUND_HALF_UP)


# ------------------------------------------------------------------ draws and guarantees
def test_non_recoverable_guarantee_tops_up_only_while_ramping():
    out = payouts("draw-guarantee.kam", EXAMPLES / "draws")
    # sdr-1 joined 2025-01-01; ramp = 90 days -> Jan, Feb, Mar start before 2025-04-01.
    assert out[("sdr-1", "2025-01", "commission")] == D("5000") * D("0.10")
    assert out[("sdr-1", "2025-01", "guarantee")] == D("2000") - D("500")
    assert out[("sdr-1", "2025-02", "guarantee")] == D("2000") - D("1000")
    assert out[("sdr-1", "2025-03", "guarantee")] == 0  # earned 3000 > guarantee
    assert ("sdr-1", "2025-04", "guarantee") not in out  # ramp over: the component does not exist
    assert out[("sdr-1", "2025-04", "total")] == D("4000")  # never recovered
    assert ("sdr-2", "2025-01", "guarantee") not in out  # veteran: no guarantee


def test_recoverable_draw_recovers_balance_without_going_below_floor():
    out = payouts("recoverable-draw.kam", EXAMPLES / "draws")
    draw, floor = D("2000"), D("1000")
    earned = {"2025-01": D("500"), "2025-02": D("1000"), "2025-03": D("3000"), "2025-04": D("4000")}
    balance = D(0)
    for month, e in earned.items():
        topup = max(D(0), draw - e)
        recovery = min(balance, max(D(0), e - floor)) if e > draw else D(0)
        balance += topup - recovery
        assert out[("sdr-1", month, "draw")] == topup, month
        assert out[("sdr-1", month, "recovery")] == -recovery, month
        assert out[("sdr-1", month, "total")] >= min(floor, draw)
    assert (out[("sdr-1", "2025-03", "recovery")], out[("sdr-1", "2025-04", "recovery")]) == (D(-2000), D(-500))


def test_proration_by_days_in_period():
    out = payouts("prorated-variable.kam", EXAMPLES / "proration")
    quarter = D(40000) / 4
    assert out[("kam-a", "2025-Q1", "variable")] == cents(quarter * D("1.10"))
    # joins 2025-02-15: 14 days of February + 31 of March = 45 of 90 days
    assert out[("kam-b", "2025-Q1", "variable")] == cents(quarter * 45 / 90)
    # leaves 2025-03-10: 31 + 28 + 10 = 69 of 90 days; attainment 200% capped at 150%
    assert out[("kam-c", "2025-Q1", "variable")] == cents(quarter * 69 / 90 * D("1.5"))


def test_proration_is_shown_in_the_trace():
    res = run_cli("explain", PLANS / "prorated-variable.kam", "--data", EXAMPLES / "proration",
                  "--payee", "kam-b", "--period", "2025-Q1")
    assert res.returncode == 0, res.stderr
    assert "prorated 45 of 90 days in 2025-Q1" in res.stdout


def test_payment_frequency_groups_monthly_calculation_into_quarters(tmp_path):
    plan = tmp_path / "quarterly-pay.kam"
    plan.write_text((PLANS / "clawback-cash.kam").read_text().replace(
        "period month\n", "period month\npayment quarter\n"))
    monthly = payouts("clawback-cash.kam", EXAMPLES / "09-clawback-cash")
    res = run_cli("run", plan, "--data", EXAMPLES / "09-clawback-cash")
    assert res.returncode == 0, res.stderr
    quarterly = {(r["payee_id"], r["period"], r["component"]): D(r["amount"])
                 for r in csv.DictReader(io.StringIO(res.stdout))}
    for (payee, period, comp), amount in quarterly.items():
        months = [v for (p, m, c), v in monthly.items()
                  if p == payee and c == comp and f"{m[:4]}-Q{(int(m[5:]) - 1) // 3 + 1}" == period]
        assert amount == sum(months, D(0)), (payee, period, comp)
    assert quarterly[("ae-020", "2025-Q2", "booking_commission")] == D("-8000")


# ------------------------------------------------------------------ media invariant
@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(min_value=0, max_value=300_000), min_size=12, max_size=12),
       st.integers(min_value=1_000, max_value=60_000))
def test_media_year_payments_add_up_to_yearly_performance(tmp_path_factory, billing, variable):
    folder = tmp_path_factory.mktemp("media")
    target = D(1_200_000)
    (folder / "people.csv").write_text(f"payee_id,annual_variable\nmed-x,{variable}\n")
    (folder / "targets.csv").write_text(f"payee_id,period,metric,target\nmed-x,2025,billing,{target}\n")
    rows = "".join(f"i{m},med-x,{amt},2025-{m:02d}-10\n" for m, amt in enumerate(billing, 1))
    (folder / "invoices.csv").write_text("invoice_id,payee_id,amount,invoice_date\n" + rows)
    out = payouts("media-advance.kam", folder)
    paid = sum((v for (p, per, c), v in out.items() if c != "total"), D(0))
    entitled = D(sum(billing)) / target * variable
    # December pays the entitlement minus what was paid, rounded once: the year adds up to
    # the yearly entitlement within half a cent (exactly its rounding, but for a negative
    # half-cent regularisation, which half_up rounds away from zero).
    assert abs(paid - entitled) <= D("0.005")
    assert paid == cents(entitled) or out[("med-x", "2025-12", "year_regularisation")] < 0
    for m, amt in enumerate(billing, 1):
        monthly_perf = D(amt) / (target / 12)
        assert out[("med-x", f"2025-{m:02d}", "advance")] == cents(min(monthly_perf, D("0.75")) * variable / 12)


# ------------------------------------------------------------------ crediting
def test_team_bonus_needs_the_whole_team_to_reach_target():
    out = payouts("team-bonus.kam", EXAMPLES / "team-bonus")
    # north Q1: 60,000 + 45,000 = 105,000 >= 100,000; south Q1: 30,000 + 20,000 < 60,000
    assert out[("kam-1", "2025-Q1", "team_bonus")] == out[("kam-2", "2025-Q1", "team_bonus")] == D(1000)
    assert out[("kam-3", "2025-Q1", "team_bonus")] == out[("kam-4", "2025-Q1", "team_bonus")] == 0
    assert out[("kam-1", "2025-Q2", "team_bonus")] == 0  # 10,000 < 50,000
    assert out[("kam-4", "2025-Q1", "commission")] == D(20000) * D("0.05")  # the lost deal is not booked


def test_split_lines_credit_each_payee_their_share():
    out = payouts("split-credit.kam", EXAMPLES / "split-credit")
    assert out[("ae-1", "2025-Q1", "commission")] == D(3600) + cents(D(33333) * D("0.5") * D("0.06"))
    assert out[("kam-1", "2025-Q1", "commission")] == D(1800) + cents(D(33333) * D("0.5") * D("0.06"))
    assert out[("csm-1", "2025-Q1", "commission")] == D(600)
    assert out[("mgr-1", "2025-Q1", "overlay_credit")] == D(1000)


def test_split_not_totalling_100_percent_is_an_error_naming_the_deal(tmp_path):
    data = tmp_path / "d"
    shutil.copytree(EXAMPLES / "split-credit", data)
    text = (data / "splits.csv").read_text().replace("s-02,kam-1,kam,0.50", "s-02,kam-1,kam,0.40")
    (data / "splits.csv").write_text(text)
    out = tmp_path / "out.csv"
    res = run_cli("run", PLANS / "split-credit.kam", "--data", data, "-o", out)
    assert res.returncode == 1
    assert "KR410" in res.stderr and "deals s-02" in res.stderr and "100%" in res.stderr
    assert "Traceback" not in res.stderr and not out.exists()


def test_reference_to_unknown_payee_is_an_error(tmp_path):
    data = tmp_path / "d"
    shutil.copytree(EXAMPLES / "split-credit", data)
    (data / "splits.csv").write_text((data / "splits.csv").read_text().replace("s-01,csm-1", "s-01,csm-9"))
    res = run_cli("run", PLANS / "split-credit.kam", "--data", data)
    assert res.returncode == 1
    assert "KR409" in res.stderr and "csm-9" in res.stderr and "splits.csv:4:2" in res.stderr


@settings(max_examples=examples(20), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(1, 500), st.lists(st.integers(1, 60), min_size=1, max_size=4)),
                min_size=1, max_size=6))
def test_primary_credit_is_given_exactly_once_at_100_percent(tmp_path_factory, deals):
    folder = tmp_path_factory.mktemp("split")
    payees = ["p1", "p2", "p3", "p4"]
    (folder / "people.csv").write_text("payee_id\n" + "\n".join(payees) + "\n")
    drows, srows = [], []
    for k, (hundreds, parts) in enumerate(deals):
        drows.append(f"d{k},{hundreds * 100},2025-02-01,won")
        weights = [D(p) for p in parts]
        shares = [(w * 100 / sum(weights)).quantize(D(1), rounding="ROUND_DOWN") for w in weights]
        shares[0] += 100 - sum(shares)
        for j, s in enumerate(shares):
            srows.append(f"d{k},{payees[j % 4]},ae,{s / 100},false")
    (folder / "deals.csv").write_text("deal_id,amount,close_date,status\n" + "\n".join(drows) + "\n")
    (folder / "splits.csv").write_text("deal_id,payee_id,role,share,overlay\n" + "\n".join(srows) + "\n")
    plan = folder / "credit.kam"
    plan.write_text((PLANS / "split-credit.kam").read_text()
                    .replace("round(deals[deal_id].amount * share * commission_rate, cent, half_up)",
                             "deals[deal_id].amount * share"))
    res = run_cli("run", plan, "--data", folder)
    assert res.returncode == 0, res.stderr
    credited = sum((D(r["amount"]) for r in csv.DictReader(io.StringIO(res.stdout))
                    if r["component"] == "commission"), D(0))
    assert credited == sum(D(h * 100) for h, _ in deals)


def test_reassignment_inside_a_period_credits_old_then_new_owner(tmp_path):
    data = tmp_path / "d"
    shutil.copytree(EXAMPLES / "01-abtasty-nrr-upsell", data)
    # acc-302 moves from am-003 to kam-001 on 2025-02-01; its deal dl-0011 closes 2025-02-03.
    text = (data / "assignments.csv").read_text().replace(
        "acc-302,am-003,kam,2024-01-01,", "acc-302,am-003,kam,2024-01-01,2025-01-31\nacc-302,kam-001,kam,2025-02-01,")
    (data / "assignments.csv").write_text(text)
    res = run_cli("explain", PLANS / "abtasty-kam.kam", "--data", data, "--payee", "kam-001",
                  "--period", "2025-Q1")
    assert res.returncode == 0, res.stderr
    assert "dl-0011" in res.stdout  # the deal after the move credits the new owner
    out = payouts("abtasty-kam.kam", data)
    # am-003 keeps acc-302 in its portfolio (assigned on the first day of the quarter) but loses
    # the expansion: NRR = 300,000 / 300,000 = 100% -> 95% attainment (rounded down) -> rate 87.5%
    assert out[("am-003", "2025-Q1", "nrr")] == cents(D("0.7") * D(5000) * (D("0.5") + D("2.5") * D("0.15")))


def test_fx_converts_at_latest_rate_and_missing_rate_is_an_error(tmp_path):
    out = payouts("fx-commission.kam", EXAMPLES / "fx-commission")
    assert out[("us-1", "2025-Q1", "commission")] == cents(D(10000) * D("0.95") * D("0.04")) + \
        cents(D(25000) * D("0.9123") * D("0.04"))
    data = tmp_path / "d"
    shutil.copytree(EXAMPLES / "fx-commission", data)
    (data / "fx_rates.csv").write_text("date,from,to,rate\n2025-02-01,USD,EUR,0.9123\n")
    res = run_cli("run", PLANS / "fx-commission.kam", "--data", data)
    assert res.returncode == 1
    assert "no fx rate USD->EUR on or before 2025-01-15" in res.stderr and "Traceback" not in res.stderr


def test_year_to_date_and_entitled_minus_paid(tmp_path):
    plan = tmp_path / "ytd.kam"
    plan.write_text('''
plan "Cumulative commission"
currency EUR
period month
payees people
input people key payee_id { payee_id: Text }
input invoices key invoice_id { invoice_id: Text  payee_id: Text  amount: Money  invoice_date: Date }
let billed_to_date = sum(amount for invoices where payee_id == payee.id
                                            and invoice_date in period.year_to_date)
# entitled to date minus paid to date
component commission = billed_to_date * 1% - paid(commission, period.year_to_date)
''')
    res = run_cli("run", plan, "--data", EXAMPLES / "02-media-advance", "--period", "2025-03")
    assert res.returncode == 0, res.stderr
    rows = {(r["payee_id"], r["component"]): D(r["amount"]) for r in csv.DictReader(io.StringIO(res.stdout))}
    # med-001 bills 110,000 + 130,000 (three invoices) in Jan-Feb and 90,000 in March:
    # paid 1,100 in January and 1,300 in February; March pays 1% of 330,000 - 2,400.
    assert rows[("med-001", "commission")] == D("900.00")
    assert rows[("med-001", "total")] == D("900.00")


def test_unknown_payee_in_targets_is_a_data_error(tmp_path):
    data = tmp_path / "d"
    shutil.copytree(EXAMPLES / "01-abtasty-nrr-upsell", data)
    with open(data / "targets.csv", "a") as fh:
        fh.write("kam-404,2025-Q1,nrr,1.05\n")
    out = tmp_path / "payouts.csv"
    res = run_cli("run", PLANS / "abtasty-kam.kam", "--data", data, "-o", out)
    assert res.returncode == 1 and not out.exists()
    assert "targets.csv:8:1: error[KR409]" in res.stderr and "kam-404" in res.stderr
