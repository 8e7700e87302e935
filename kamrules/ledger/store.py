"""The ledger folder: records of what was paid, as plain text, in a hash chain.

A ledger is a folder (kept in git, reviewed like code):

    LEDGER/
      plans/<sha256>.kam          the text of every plan a close ran, named by its sha256
      0001-close-2025-01/
        manifest.json             what the record is and what it was computed from
        payouts.csv               what was paid: payee_id,period,component,adjusts,amount,currency
        payroll.csv               the same, per payee and earning code (payroll.py)
        adjustments.csv           the manual adjustments paid, with reasons (if any: manual.py)
      0002-close-2025-02/ ...
      0003-reopen-2025-02/
        manifest.json             a reopening: the period is open again (nothing is deleted)

`manifest.json` holds the record's kind, sequence and period, the time (UTC), the kamrules
version, the plan (name, version, file name, sha256, where its copy is, a digest per line),
the sha256 of every input file, the sha256 and a digest per line of every file of the
record, the sha256 of the previous record's manifest (`previous`: the chain), and last a
`seal`: a digest of each of the manifest's own lines before it. `verify` walks the chain
and names the first file, and the line in it, that differs from what was recorded.

A record is written whole or not at all (outputs.write_folder): a temporary folder inside the
ledger, every file fsynced, then one rename. The plan copy is written before (content-
addressed, so a copy left by an interrupted close is the same bytes a later one writes).
What a ledger says (status of periods, amounts paid per payee, component and period) is read
by `read_ledger`; settle.py computes a run against it.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
from decimal import Decimal, InvalidOperation

import attrs

from kamrules.core.numeric import format_amount
from kamrules.diagnostics.diagnostic import Diagnostic, KamError
from kamrules.files import outputs
from kamrules.version import __version__

ROW_COLUMNS = ("payee_id", "period", "component", "adjusts", "amount", "currency")
RECORD = re.compile(r"^(\d{4,})-(close|reopen)-(.+)$")
SHA = re.compile(r"^[0-9a-f]{64}$")
PLANS = "plans"
MANIFEST = "manifest.json"
PAYOUTS = "payouts.csv"
PAYROLL = "payroll.csv"
ADJUSTMENTS = "adjustments.csv"  # the manual adjustments a close paid, with their reasons
RECORD_FILES = frozenset({PAYOUTS, PAYROLL, ADJUSTMENTS})  # what a manifest may list


@attrs.frozen
class Row:
    """One line of what was (or is to be) paid: `adjusts` names the closed period an
    adjustment corrects ('' for an ordinary row)."""
    payee_id: str
    period: str
    component: str
    adjusts: str
    amount: Decimal
    currency: str

    @property
    def accounts_for(self) -> str | None:
        """The period whose amount this row pays (an adjustment pays its closed period's);
        None for a manual adjustment (`manual:<reference>`: outside the plan's amounts)."""
        if self.adjusts.startswith("manual:"):
            return None
        return self.adjusts or self.period


@attrs.define
class Record:
    sequence: int
    kind: str  # "close" or "reopen"
    period: str
    folder: str
    manifest: dict
    rows: list


@attrs.define
class Ledger:
    path: str
    records: list

    def status(self, period: str) -> str:
        """'closed' or 'open' (never closed, or reopened since)."""
        for r in reversed(self.records):
            if r.period == period:
                return "closed" if r.kind == "close" else "open"
        return "open"

    def closed(self) -> list[str]:
        return sorted({r.period for r in self.records if self.status(r.period) == "closed"})

    def ever_closed(self, period: str) -> bool:
        return any(r.period == period and r.kind == "close" for r in self.records)

    def last_close(self, period: str) -> Record | None:
        for r in reversed(self.records):
            if r.period == period and r.kind == "close":
                return r
        return None

    def paid(self) -> dict:
        """(payee_id, period paid for, component) -> (amount, currency) over every close."""
        out: dict = {}
        for r in self.records:
            for row in r.rows:
                if row.accounts_for is None:
                    continue
                key = (row.payee_id, row.accounts_for, row.component)
                before = out.get(key, (Decimal(0), row.currency))[0]
                out[key] = (before + row.amount, row.currency)
        return out

    def manual_references(self) -> set:
        """The references of the manual adjustments the closes recorded."""
        return {row.adjusts[len("manual:"):] for r in self.records for row in r.rows
                if row.adjusts.startswith("manual:")}

    def head(self) -> str | None:
        """sha256 of the last record's manifest (what an auditor notes down)."""
        if not self.records:
            return None
        return sha256_bytes(_read(os.path.join(self.records[-1].folder, MANIFEST)))

    def plan_copy(self, sha: str) -> str:
        """The path of a plan's copy (KR804 for a sha256 that is not 64 hex digits: a
        manifest never names a path)."""
        if not isinstance(sha, str) or not SHA.match(sha):
            raise broken(f"ledger {self.path}: a record names the plan {str(sha)[:80]!r}, not a sha256")
        return os.path.join(self.path, PLANS, f"{sha}.kam")


# ---------------------------------------------------------------------------- text helpers

def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def line_digests(data: bytes) -> list[str]:
    """A short digest of every line (the newline included): where a changed file differs."""
    return [hashlib.sha256(line).hexdigest()[:12] for line in data.splitlines(keepends=True)]


def rows_csv(rows: list[Row]) -> bytes:
    """The record's CSV: exact text (read back by kamrules), LF line ends."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(ROW_COLUMNS)
    for r in rows:
        w.writerow([r.payee_id, r.period, r.component, r.adjusts, format_amount(r.amount), r.currency])
    return buf.getvalue().encode("utf-8")


def parse_rows(data: bytes, where: str) -> list[Row]:
    try:
        reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
        header = next(reader, None)
    except (UnicodeDecodeError, csv.Error) as err:
        raise broken(f"{where}: not a readable CSV ({err})") from None
    if tuple(header or ()) != ROW_COLUMNS:
        raise broken(f"{where} line 1: the header is not {','.join(ROW_COLUMNS)}")
    rows = []
    for n, cells in enumerate(reader, start=2):
        try:
            payee, period, comp, adjusts, amount, currency = cells
            rows.append(Row(payee, period, comp, adjusts, Decimal(amount), currency))
        except (ValueError, InvalidOperation):
            raise broken(f"{where} line {n}: not a payout row") from None
    return rows


def broken(message: str) -> KamError:
    return KamError([Diagnostic("KR804", message, hint="`kamrules ledger verify LEDGER` names the first "
                                "change; restore the ledger from git (a record is never edited)")])


def ledger_error(message: str, hint: str) -> KamError:
    return KamError([Diagnostic("KR801", message, hint=hint)])


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


# ---------------------------------------------------------------------------- manifest

SEAL_PREFIX = ' "seal": '


def manifest_bytes(body: dict) -> bytes:
    """The manifest: indented JSON, one value per line, the seal (a digest of each line
    before it) last."""
    text = json.dumps(body, indent=1, ensure_ascii=False)
    head = text[:-2] + ",\n"  # drop the closing "\n}"
    seal = line_digests(head.encode("utf-8"))
    return (head + SEAL_PREFIX + json.dumps(seal) + "\n}\n").encode("utf-8")


def seal_problem(data: bytes) -> str | None:
    """Where a manifest differs from its seal ('line N ...'), or None."""
    lines = data.splitlines(keepends=True)
    at = next((i for i in range(len(lines) - 1, -1, -1) if lines[i].startswith(SEAL_PREFIX.encode())), None)
    if at is None:
        return "its seal (the last field) is gone"
    try:
        seal = json.loads(lines[at][len(SEAL_PREFIX):].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return f"line {at + 1} (the seal) changed"
    body = line_digests(b"".join(lines[:at]))
    for n, (got, want) in enumerate(zip(body, seal), start=1):
        if got != want:
            return f"line {n} changed"
    if len(body) != len(seal):
        return f"line {min(len(body), len(seal)) + 1} changed (lines added or removed)"
    if lines[at + 1:] != [b"}\n"]:
        return f"line {at + 2} changed"
    return None


def first_changed_line(data: bytes, digests: list) -> int | None:
    """The first line (1-based) of data whose digest is not the recorded one."""
    got = line_digests(data)
    for n, (a, b) in enumerate(zip(got, digests), start=1):
        if a != b:
            return n
    if len(got) != len(digests):
        return min(len(got), len(digests)) + 1
    return None


# ---------------------------------------------------------------------------- reading

def read_ledger(path: str, missing_ok: bool = False) -> Ledger:
    """The records of the ledger folder, in order (KR801: not a ledger folder; KR804: a
    record that cannot be read)."""
    if not os.path.lexists(path):
        if missing_ok:
            return Ledger(path, [])
        raise ledger_error(f"--ledger {path}: no such folder",
                           "`kamrules close` creates the ledger; check the path")
    if os.path.islink(path) or not os.path.isdir(path):
        raise ledger_error(f"--ledger {path} is not a folder", "name the ledger folder `close` wrote")
    records = []
    for name in sorted(os.listdir(path)):
        m = RECORD.match(name)
        if not m or not os.path.isdir(os.path.join(path, name)):
            continue
        folder = os.path.join(path, name)
        where = os.path.join(name, MANIFEST)
        try:
            manifest = json.loads(_read(os.path.join(folder, MANIFEST)).decode("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as err:
            raise broken(f"ledger {path}: {where} cannot be read ({getattr(err, 'strerror', None) or err})") from None
        rows = []
        if m.group(2) == "close":
            try:
                data = _read(os.path.join(folder, PAYOUTS))
            except OSError as err:
                raise broken(f"ledger {path}: {os.path.join(name, PAYOUTS)} cannot be read ({err.strerror})") from None
            rows = parse_rows(data, os.path.join(name, PAYOUTS))
        records.append(Record(int(m.group(1)), m.group(2), m.group(3), folder, manifest, rows))
    records.sort(key=lambda r: r.sequence)
    return Ledger(path, records)


# ---------------------------------------------------------------------------- writing

def write_record(ledger: Ledger, kind: str, period: str, files: dict, plan: dict | None,
                 plan_text: bytes | None, inputs: dict, extra: dict) -> str:
    """Append a record (files: name -> bytes) to the ledger; its folder path. `plan`: the
    plan's name, version and file name (its sha256 and copy are added here)."""
    outputs.make_folder(ledger.path, "--ledger")
    plan_entry = None
    if plan is not None and plan_text is not None:
        sha = sha256_bytes(plan_text)
        copy = ledger.plan_copy(sha)
        outputs.make_folder(os.path.dirname(copy), "--ledger plans")
        if os.path.exists(copy):
            if sha256_bytes(_read(copy)) != sha:
                raise broken(f"ledger {ledger.path}: {os.path.join(PLANS, sha + '.kam')} is not the plan it names")
        else:
            outputs.write_text(plan_text.decode("utf-8"), copy, "--ledger")
        plan_entry = {**plan, "sha256": sha, "copy": f"{PLANS}/{sha}.kam",
                      "lines": " ".join(line_digests(plan_text))}
    sequence = (ledger.records[-1].sequence if ledger.records else 0) + 1
    body = {"kind": kind, "sequence": sequence, "period": period,
            "time": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "kamrules_version": __version__, "plan": plan_entry, "inputs": inputs, **extra,
            "files": {name: {"sha256": sha256_bytes(data), "lines": " ".join(line_digests(data))}
                      for name, data in sorted(files.items())},
            "previous": ledger.head()}
    folder = os.path.join(ledger.path, f"{sequence:04d}-{kind}-{period}")
    items = [(MANIFEST, _writer(manifest_bytes(body)))]
    items += [(name, _writer(data)) for name, data in sorted(files.items())]
    outputs.write_folder(folder, items, "--ledger")
    return folder


def _writer(data: bytes):
    return lambda fh: fh.write(data)


# ---------------------------------------------------------------------------- verifying

def verify(path: str) -> tuple[list[str], Ledger | None]:
    """(problems, ledger): every difference between the ledger and what its records say,
    in chain order (the first is the first file that changed), and the ledger when it reads."""
    if not os.path.isdir(path) or os.path.islink(path):
        read_ledger(path)  # raises KR801
    problems: list[str] = []
    names = sorted(n for n in os.listdir(path) if RECORD.match(n) and os.path.isdir(os.path.join(path, n)))
    previous_sha, expected = None, 1
    for name in sorted(names, key=lambda n: int(RECORD.match(n).group(1))):
        seq, kind, period = RECORD.match(name).groups()
        folder = os.path.join(path, name)
        if int(seq) != expected:
            problems.append(f"{name}: record {expected:04d} is missing before it (records are never deleted)")
        expected = int(seq) + 1
        mpath = os.path.join(name, MANIFEST)
        try:
            data = _read(os.path.join(folder, MANIFEST))
        except OSError as err:
            problems.append(f"{mpath}: cannot be read ({err.strerror})")
            previous_sha = None
            continue
        where = seal_problem(data)
        if where is not None:
            problems.append(f"{mpath} {where}")
            previous_sha = sha256_bytes(data)
            continue
        manifest = json.loads(data.decode("utf-8"))
        if previous_sha is not None and manifest.get("previous") != previous_sha:
            problems.append(f"the manifest before {mpath} changed after it was recorded (its sha256 is "
                            f"{previous_sha[:12]}..., {mpath} records {str(manifest.get('previous'))[:12]}...)")
        if (str(manifest.get("sequence")), manifest.get("kind"), manifest.get("period")) != (str(int(seq)), kind, period):
            problems.append(f"{mpath}: the folder name {name} is not the record's sequence, kind and period")
        previous_sha = sha256_bytes(data)
        files = manifest.get("files", {})
        for fname in sorted(set(os.listdir(folder)) - set(files) - {MANIFEST}):
            problems.append(f"{os.path.join(name, fname)}: a file the record does not list")
        for fname, entry in sorted(files.items()):
            if fname not in RECORD_FILES or not isinstance(entry, dict):
                problems.append(f"{mpath}: lists `{fname}`, not a file of a record")
                continue
            problems += _file_problem(os.path.join(folder, fname), os.path.join(name, fname), entry)
        plan = manifest.get("plan")
        if plan and (not isinstance(plan, dict) or plan.get("copy") != f"{PLANS}/{plan.get('sha256')}.kam"
                     or not SHA.match(str(plan.get("sha256")))):
            problems.append(f"{mpath}: the plan entry does not name a copy plans/<sha256>.kam")
        elif plan:
            problems += _file_problem(os.path.join(path, plan["copy"]), plan["copy"], plan,
                                      what=f"the plan recorded by {name}")
    try:
        ledger = read_ledger(path) if not problems else None
    except KamError as err:
        problems.append(err.diagnostics[0].message)
        ledger = None
    return problems, ledger


def verified(path: str) -> Ledger:
    """The ledger, when it verifies (KR804 naming the first change otherwise)."""
    problems, ledger = verify(path)
    if problems:
        more = f" ({len(problems) - 1} more after it)" if len(problems) > 1 else ""
        raise broken(f"ledger {path}: {problems[0]}{more}")
    return ledger


def _file_problem(full: str, shown: str, entry: dict, what: str | None = None) -> list[str]:
    try:
        data = _read(full)
    except OSError as err:
        return [f"{shown}: {what or 'a file of the record'} cannot be read ({err.strerror})"]
    if sha256_bytes(data) == entry.get("sha256"):
        return []
    n = first_changed_line(data, str(entry.get("lines", "")).split())
    if n is None:
        return [f"{shown}: changed (its sha256 is not the recorded one)"]
    row = f" (row {n - 1})" if shown.endswith(".csv") and n > 1 else ""
    return [f"{shown} line {n}{row} changed since it was recorded"]
