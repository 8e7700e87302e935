"""The payment ledger: what was paid, period by period, as plain text (kamrules/ledger/store.py),
the settlement of a run against it (adjustments for closed periods, settle.py), and the
payroll export (payroll.py). Used by `close`, `ledger`, `payroll` and `run --ledger`."""
