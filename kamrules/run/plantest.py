"""Plan tests: example cases written beside a plan, run and compared to the cent.

The format, made for a RevOps analyst with a spreadsheet (no new file format to learn):

    plans/<plan>.kam
    plans/tests/<plan>/<case>/          one folder per case
        expected.csv                    payee_id,period,component,amount[,currency][,note...]
        <input>.csv ...                 the plan's input files this case gives
        case.toml                       optional: description, period, data

`case.toml` (every key optional):

    description = "kam-001 exactly at 80% attainment, kam-002 just under"
    period = "2025-Q1"         # like `run --period`; default: the periods the data touch
    data = "../acceptance"     # folder (relative to the case folder, under the plan's folder) that supplies every
                               # input file this case folder does not hold; by default the
                               # plan's `acceptance` case, when there is one
    error = "KR405"            # the case expects the run to stop with this diagnostic code
                               # (a missing fx rate, a broken `require` rule); no expected.csv

The comparison is the acceptance contract: a row expected.csv lists must match (amount, and
currency when the column is filled); a row the plan computes but expected.csv does not list
must be 0.00; `total` rows are compared only when expected.csv lists some. Extra columns
(`note`, `why`) are for people and are ignored.

This module owns discovery, loading and comparison and returns results as data; printing
and JUnit XML are in `commands/test.py`.
"""
from __future__ import annotations

import csv
import os
import re
import time
import tomllib
from decimal import Decimal

import attrs

from kamrules.check.checker import check_file
from kamrules.data.strict import load_table
from kamrules.files.inputs import NotRegular, inside, kind_of, open_regular, resolve
from kamrules.diagnostics.diagnostic import Diagnostic, KamError, did_you_mean
from kamrules.run.session import Session
from kamrules.report.payouts import with_totals
from kamrules.diagnostics.source import Span

TESTS_DIR = "tests"
EXPECTED = "expected.csv"
CASE_FILE = "case.toml"
DEFAULT_DATA = "acceptance"  # the case whose inputs other cases default to
ZERO = Decimal("0.00")
_AMOUNT = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)$")


@attrs.frozen
class Case:
    plan: str  # path of the .kam file
    name: str
    folder: str


@attrs.frozen
class Mismatch:
    payee_id: str
    period: str
    component: str
    expected: Decimal | None  # None: the row is not listed (so 0.00 is expected)
    actual: Decimal | None  # None: the plan does not compute the row (so 0.00)
    note: str = ""

    @property
    def difference(self) -> Decimal:
        return (self.actual if self.actual is not None else ZERO) - \
               (self.expected if self.expected is not None else ZERO)


@attrs.frozen
class CaseResult:
    case: Case
    status: str  # "pass" | "fail" | "error"
    description: str = ""
    mismatches: tuple = ()
    diagnostics: tuple = ()
    rows_checked: int = 0
    seconds: float = 0.0
    message: str = ""  # why a case failed when it is not a payout difference

    @property
    def id(self) -> str:
        return f"{_stem(self.case.plan)}::{self.case.name}"


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


# ---------------------------------------------------------------------------- discovery
def tests_folder(plan_path: str) -> str:
    return os.path.join(os.path.dirname(plan_path) or ".", TESTS_DIR, _stem(plan_path))


def cases_of(plan_path: str) -> list[Case]:
    folder = tests_folder(plan_path)
    if not os.path.isdir(folder):
        return []
    return [Case(plan_path, name, os.path.normpath(os.path.join(folder, name)))
            for name in sorted(os.listdir(folder))
            if os.path.isdir(os.path.join(folder, name)) and not name.startswith(".")]


def discover(paths: list[str]) -> tuple[list[str], list[Case], list[Diagnostic]]:
    """(plans, cases, problems) for command-line paths: plan files, folders of plans, a
    plan's test folder (plans/tests/<plan>) or one case folder."""
    plans, cases, problems = [], [], []

    def add_plan(plan, only=None):
        plan = os.path.normpath(plan)
        if plan not in plans:
            plans.append(plan)
        for c in cases_of(plan):
            if (only is None or os.path.normpath(c.folder) == only) and c not in cases:
                cases.append(c)

    for raw in paths:
        path = os.path.normpath(raw)
        if os.path.isfile(path):
            if not path.endswith(".kam"):
                problems.append(Diagnostic("KR401", f"{raw} is not a plan (.kam) file",
                                           hint="give plans, folders of plans or test case folders"))
                continue
            add_plan(path)
        elif os.path.isdir(path):
            parent = os.path.dirname(os.path.abspath(path))
            if os.path.exists(os.path.join(path, EXPECTED)) or os.path.exists(os.path.join(path, CASE_FILE)):
                stem, tests = os.path.basename(parent), os.path.dirname(parent)
                plan = _plan_for(tests, stem, raw, problems)
                if plan:
                    add_plan(plan, only=os.path.normpath(os.path.join(tests_folder(plan), os.path.basename(path))))
            elif os.path.basename(parent) == TESTS_DIR and not _kam_files(path):
                plan = _plan_for(parent, os.path.basename(path), raw, problems)
                if plan:
                    add_plan(plan)
            else:
                found = _kam_files(path)
                if not found:
                    problems.append(Diagnostic("KR401", f"no plan (.kam) file in {raw}"))
                for plan in found:
                    add_plan(plan)
                problems.extend(_orphans(path, found))
        elif os.path.lexists(path):  # a FIFO, a device, a broken link: never opened
            what = "a broken link" if os.path.islink(path) else kind_of(os.stat(path).st_mode)
            problems.append(Diagnostic("KR401", f"{raw} is {what}, not a plan file or a folder"))
        else:
            problems.append(Diagnostic("KR401", f"{raw} does not exist", hint="give a plan (.kam), a case "
                                       "folder (plans/tests/<plan>/<case>) or a folder of plans"))
    return plans, cases, problems


def _kam_files(folder: str) -> list[str]:
    return [os.path.join(folder, f) for f in sorted(os.listdir(folder)) if f.endswith(".kam")]


def _plan_for(tests: str, stem: str, raw: str, problems: list) -> str | None:
    plan = os.path.relpath(os.path.join(os.path.dirname(tests), stem + ".kam"))
    if not os.path.isfile(plan):
        problems.append(Diagnostic("KR401", f"{raw}: the tests of plan `{stem}` need {plan}, which "
                                   "does not exist", hint="the case folders live in "
                                   "<plans folder>/tests/<plan file name without .kam>/<case>/"))
        return None
    return plan


def _orphans(folder: str, plans: list[str]) -> list[Diagnostic]:
    tests = os.path.join(folder, TESTS_DIR)
    if not os.path.isdir(tests):
        return []
    stems = {_stem(p) for p in plans}
    out = []
    for name in sorted(os.listdir(tests)):
        if os.path.isdir(os.path.join(tests, name)) and name not in stems and not name.startswith("."):
            out.append(Diagnostic("KR401", f"{os.path.join(tests, name)} holds tests for `{name}.kam`, "
                                  f"which is not in {folder}", hint=did_you_mean(name, stems)))
    return out


# ---------------------------------------------------------------------------- running
def load_plan_for_tests(plan_path: str):
    """The checked plan, or raise KamError with its check errors."""
    return check_file(plan_path)


def within_plan_folder(case: Case, path: str, what: str) -> None:
    """KR411 unless `path` (every link followed) lies under the folder of the case's plan:
    a case folder, its `data` folder, case.toml and expected.csv come with the plan, and a
    link or a `data = "../../../etc"` must not make a test read (and show) a file elsewhere."""
    root = os.path.realpath(os.path.dirname(case.plan) or ".")
    if not inside(os.path.realpath(path), root):
        raise KamError([Diagnostic("KR411", f"{what} {path} resolves outside the folder of plan "
                                   f"{case.plan}", hint="a test case reads only files under the folder "
                                   "of its plan: copy the files into the case folder")])


def open_case_file(case: Case, path: str, what: str, **text):
    """A file of a case (case.toml, expected.csv): under the plan's folder and a regular
    file, opened without blocking (a FIFO is KR412 at once, a folder KR401)."""
    within_plan_folder(case, path, what)
    try:
        return open_regular(path, binary=not text, **text)
    except NotRegular as err:
        code, what_it_is = ("KR401", "a folder") if os.path.isdir(path) else ("KR412", kind_of(err.mode))
        raise KamError([Diagnostic(code, f"{path} is {what_it_is}, not a regular file",
                                   hint=f"write the {what} as a file in the case folder")]) from None


def read_case_settings(case: Case) -> dict:
    path = os.path.join(case.folder, CASE_FILE)
    if not os.path.lexists(path):
        return {}
    try:
        with open_case_file(case, path, CASE_FILE) as fh:
            settings = tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise KamError([Diagnostic("KR002", f"{path} is not valid TOML: {err}", Span(path, 1, 1, 1, 2),
                                   'write key = "value" lines, e.g. period = "2025-Q1"')]) from None
    known = {"description", "period", "data", "error"}
    for key, value in settings.items():
        if key not in known:
            raise KamError([Diagnostic("KR002", f"{path}: unknown setting `{key}`", Span(path, 1, 1, 1, 2),
                                       did_you_mean(key, known) or "settings: " + ", ".join(sorted(known)))])
        if not isinstance(value, str):
            raise KamError([Diagnostic("KR002", f"{path}: `{key}` must be text in quotes",
                                       Span(path, 1, 1, 1, 2), f'{key} = "..."')])
    return settings


def load_case_tables(plan, case: Case, settings: dict) -> dict:
    """Each input from the case folder, else from the `data` folder of case.toml."""
    base = os.path.normpath(os.path.join(case.folder, settings["data"])) if "data" in settings else None
    sibling = os.path.join(os.path.dirname(case.folder), DEFAULT_DATA)
    if base is None and case.name != DEFAULT_DATA and os.path.isdir(sibling):
        base = sibling
    if base is not None and not os.path.isdir(base):
        raise KamError([Diagnostic("KR401", f"{case.folder}/{CASE_FILE}: data folder {base} does not exist",
                                   hint="`data` is relative to the case folder, e.g. data = \"../acceptance\"")])
    if base is not None:
        within_plan_folder(case, base, f"{case.folder}/{CASE_FILE}: data folder")
    tables, diags = {}, []
    for name, spec in plan.inputs.items():
        if spec.sql is not None:  # read from the database by run_case (--db)
            continue
        try:  # inside the case folder, or inside the data folder (kamrules.files.inputs)
            path = resolve(spec, case.folder)
            if not os.path.exists(path) and base is not None:
                path = resolve(spec, base)
        except KamError as err:
            diags.extend(err.diagnostics)
            continue
        if not os.path.exists(path):
            where = case.folder + (f" nor in {base}" if base else "")
            diags.append(Diagnostic("KR401", f"input `{name}` needs {spec.file}, which is neither in {where}",
                                    spec.span, "put the CSV in the case folder, or name a folder that holds "
                                    f"it in {CASE_FILE}: data = \"../acceptance\""))
            continue
        try:
            tables[name] = load_table(spec, path, plan.fiscal_start)
        except KamError as err:
            diags.extend(err.diagnostics)
    if diags:
        raise KamError(diags)
    return tables


@attrs.frozen
class Expected:
    amount: Decimal
    currency: str
    note: str
    line: int


def read_expected(path: str, case: Case) -> dict:
    """(payee_id, period, component) -> Expected, validated with file:line:col spans."""
    if not os.path.lexists(path):
        raise KamError([Diagnostic("KR401", f"{path} does not exist: a case needs the payouts it expects",
                                   hint="payee_id,period,component,amount,currency  (one row per "
                                        "payout; a header-only file expects every amount to be 0.00)")])
    with open_case_file(case, path, EXPECTED, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = [h.strip() for h in next(reader, [])]
            required = ("payee_id", "period", "component", "amount")
            missing = [c for c in required if c not in header]
            if missing:
                raise KamError([Diagnostic("KR402", f"{path} has no column {', '.join(missing)}",
                                           Span(path, 1, 1, 1, 2),
                                           "the header is payee_id,period,component,amount,currency")])
            pos = {c: header.index(c) for c in header}
            out, diags = {}, []
            for record in reader:
                line = reader.line_num
                if not record or all(not c.strip() for c in record):
                    continue
                cells = {c: (record[i].strip() if i < len(record) else "") for c, i in pos.items()}
                key = (cells["payee_id"], cells["period"], cells["component"])
                if not all(key):
                    diags.append(Diagnostic("KR403", f"{path}: payee_id, period and component are required",
                                            Span(path, line, 1, line, 2)))
                    continue
                amount = cells["amount"]
                if not _AMOUNT.match(amount):
                    col = pos["amount"] + 1
                    diags.append(Diagnostic("KR403", f"amount `{amount}` is not a decimal number",
                                            Span(path, line, col, line, col + 1),
                                            "write 1234.56 (a dot, no thousands separator)"))
                    continue
                if key in out:
                    diags.append(Diagnostic("KR404", f"{', '.join(key)} is listed twice (lines "
                                            f"{out[key].line} and {line})", Span(path, line, 1, line, 2)))
                    continue
                note = " ".join(v for c, v in cells.items() if c not in required + ("currency",) and v)
                out[key] = Expected(Decimal(amount), cells.get("currency", ""), note, line)
        except csv.Error as err:
            raise KamError([Diagnostic("KR403", f"{path} is not valid CSV: {err}",
                                       Span(path, reader.line_num, 1, reader.line_num, 2))]) from None
    if diags:
        raise KamError(diags)
    return out


def compare(actual: dict, expected: dict) -> list[Mismatch]:
    """actual: (payee, period, component) -> (amount, currency). The acceptance contract."""
    with_totals = any(k[2] == "total" for k in expected)
    out = []
    for key, exp in expected.items():
        got = actual.get(key)
        amount = got[0] if got is not None else ZERO
        wrong_currency = bool(exp.currency) and got is not None and got[1] != exp.currency
        if amount != exp.amount or wrong_currency:
            note = f"currency {got[1]}, expected {exp.currency}" if wrong_currency else exp.note
            out.append(Mismatch(*key, exp.amount, got[0] if got is not None else None, note))
    for key, (amount, _cur) in actual.items():
        if key not in expected and amount != 0 and (key[2] != "total" or with_totals):
            out.append(Mismatch(*key, None, amount, "not listed in expected.csv"))
    return sorted(out, key=lambda m: (m.payee_id, m.period, m.component == "total", m.component))


def actual_rows(payouts) -> dict:
    return {(payee, str(period), comp): (amount, cur) for payee, period, comp, amount, cur in with_totals(payouts)}


def _sql_tables(plan, db: str | None, timeout: float | None = None):
    """(plan, tables) of the plan's `from sql` inputs, read on `db` (or $KAMRULES_DB) into
    snapshots in a temporary folder (a test writes nothing beside its cases)."""
    if not any(s.sql is not None for s in plan.inputs.values()):
        return plan, {}
    import tempfile
    from kamrules.data.sql import sourced
    with tempfile.TemporaryDirectory(prefix="kamrules-test-") as tmp:
        plan = sourced(plan, tmp, db, timeout)
        return plan, {n: load_table(s, resolve(s, tmp), plan.fiscal_start)
                      for n, s in plan.inputs.items() if s.sql is not None}


def run_case(plan, case: Case, engine: str = "auto", db: str | None = None,
             db_timeout: float | None = None) -> CaseResult:
    """Run one case on an already checked plan (on the session's engine choice, as `run`;
    `from sql` inputs read on `db`, as `run --db`); never raises for a user-caused problem."""
    started = time.perf_counter()
    description, want_error = "", None
    try:
        within_plan_folder(case, case.folder, "case folder")
        settings = read_case_settings(case)
        description = settings.get("description", "").strip()
        want_error = settings.get("error")
        expected = None if want_error else read_expected(os.path.join(case.folder, EXPECTED), case)
        tables = load_case_tables(plan, case, settings)
        plan, from_db = _sql_tables(plan, db, db_timeout)
        tables.update(from_db)
        payouts = Session(period=settings.get("period"), engine=engine, plan=plan, tables=tables,
                           db=db, db_timeout=db_timeout).execute().payouts
    except KamError as err:
        seconds = time.perf_counter() - started
        if want_error and any(d.code == want_error for d in err.diagnostics):
            return CaseResult(case, "pass", description, seconds=seconds)
        if want_error:
            return CaseResult(case, "fail", description, diagnostics=err.diagnostics, seconds=seconds,
                              message=f"expected the run to stop with {want_error}, it stopped with "
                                      + ", ".join(sorted({d.code for d in err.diagnostics})))
        return CaseResult(case, "error", description, diagnostics=err.diagnostics, seconds=seconds)
    seconds = time.perf_counter() - started
    if want_error:
        return CaseResult(case, "fail", description, seconds=seconds,
                          message=f"expected the run to stop with {want_error}, but it computed "
                                  f"{len(payouts)} payouts")
    mismatches = compare(actual_rows(payouts), expected)
    return CaseResult(case, "fail" if mismatches else "pass", description, tuple(mismatches),
                      rows_checked=len(expected), seconds=seconds)


def run_tests(paths: list[str], engine: str = "auto", db: str | None = None,
              db_timeout: float | None = None) -> tuple[list[CaseResult], list[str], list[Diagnostic]]:
    """(results, plans without tests, discovery problems) for command-line paths."""
    plans, cases, problems = discover(paths)
    results, untested = [], []
    for plan_path in plans:
        mine = [c for c in cases if c.plan == plan_path]
        if not mine:
            untested.append(plan_path)
            continue
        try:
            plan = load_plan_for_tests(plan_path)
        except KamError as err:
            results.extend(CaseResult(c, "error", diagnostics=err.diagnostics) for c in mine)
            continue
        results.extend(run_case(plan, c, engine, db, db_timeout) for c in mine)
    return results, untested, problems
