"""Shared plumbing of the subcommands: loading a plan and its data, atomic output files,
printing diagnostics. Each subcommand module under `commands/` registers itself with
`register(subparsers)`.
"""
from __future__ import annotations

import os
import sys
import tempfile

from ..checker import check
from ..data import load_data
from ..diagnostics import Diagnostic, KamError, render_text
from ..engine import plan_periods
from ..engine.run import select_payees
from ..parser import parse_file


def write_output(text: str, output: str | None):
    if output is None or output == "-":
        sys.stdout.write(text)
        return
    folder = os.path.dirname(os.path.abspath(output))
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".kamrules-", suffix=".tmp")
    except OSError as err:
        raise KamError([Diagnostic("KR401", f"cannot write {output}: {err.strerror}",
                                   hint=f"check that the folder {folder} exists and is writable")]) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; an output file is shared
        os.replace(tmp, output)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path):
    plan, source = parse_file(path)
    checked, diags = check(plan, source)
    return checked, diags, source


def print_diags(diags, sources):
    for d in diags:
        print(render_text(d, sources), file=sys.stderr)


def prepare(args):
    """Plan, tables and periods for a command with PLAN --data [--period]; raises KamError."""
    checked, diags, source = load(args.plan)
    errors = [d for d in diags if d.is_error]
    if errors:
        raise KamError(errors)
    tables = load_data(checked, args.data)
    periods = plan_periods(checked, tables, args.period)
    return checked, tables, periods, source


def payees(checked, tables, wanted) -> set | None:
    """--payee ids checked against the data's payees (engine.run.select_payees)."""
    table = tables[checked.payees_table]
    return select_payees(wanted, (r.id for r in table.rows), table.path)


def data_args(sp):
    sp.add_argument("plan", help="the .kam plan file")
    sp.add_argument("--data", required=True, help="folder holding the CSV exports")
    sp.add_argument("--period", action="append",
                    help="compute this period only (2025-Q1, 2025-03, 2025); repeatable")
    sp.add_argument("-o", "--output", help="write to this file instead of stdout")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
