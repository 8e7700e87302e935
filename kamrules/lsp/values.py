"""The values a hover shows when the editor names a data folder and a payee (the settings
`kamrules.data`, `kamrules.payee` and optionally `kamrules.period`, given as the server's
initializationOptions or sent with workspace/didChangeConfiguration).

The values are computed through the session (kamrules/run/session.py), as `kamrules run`
computes them, on the plan as typed (the checked plan of the last analysis): a component's
amounts are the run's payouts (the same engine choice, so the same numbers `run` prints),
a let's or a param's are read from the interpreter's derivation tree of the payee (what
`explain` shows). One computation per document version and settings (`ValueCache`). A data
or usage problem (a missing file, an unknown payee, a bad period) becomes one short line in
the hover; nothing raised here reaches the server.
"""
from __future__ import annotations

import os
from pathlib import Path

import attrs

from kamrules.core.numeric import Money
from kamrules.diagnostics.diagnostic import KamError
from kamrules.run.session import Session
from kamrules.trace.tree import show_value

_KEYS = ("data", "payee", "period")
_MAX_PERIODS = 12  # a hover lists at most this many periods (then says how many more)
_MAX_MESSAGE = 160


@attrs.frozen
class ValueSettings:
    data: str | None = None
    payee: str | None = None
    period: str | None = None

    @property
    def active(self) -> bool:
        return bool(self.data and self.payee)


def settings_from(options, base: ValueSettings | None = None) -> ValueSettings:
    """The settings in an initializationOptions or didChangeConfiguration payload: nested
    (`{"kamrules": {"data": ...}}`), dotted (`{"kamrules.data": ...}`) or flat (`{"data":
    ...}`); keys it does not give keep their `base` value."""
    found = attrs.asdict(base or ValueSettings())
    if not isinstance(options, dict):
        return ValueSettings(**found)
    nested = options.get("kamrules") if isinstance(options.get("kamrules"), dict) else {}
    for key in _KEYS:
        for source in (nested, options):
            for name in (key, f"kamrules.{key}"):
                if name in source:
                    value = source[name]
                    found[key] = str(value).strip() or None if value is not None else None
    return ValueSettings(**found)


@attrs.frozen
class Values:
    """Per definition name, its values as [(period, shown value)]; or the problem met."""
    by_name: dict = attrs.Factory(dict)
    periods: tuple = ()
    problem: str | None = None


def _short(err: BaseException) -> str:
    if isinstance(err, KamError) and err.diagnostics:
        d = err.diagnostics[0]
        text = f"{d.code}: {d.message}"
    else:
        text = f"{type(err).__name__}: {err}"
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE - 1] + "…"


def data_folder(settings: ValueSettings, plan_path: str, root: str | None) -> str:
    """The data folder: as given when absolute, else relative to the workspace root (or the
    plan's own folder when the editor opened no folder)."""
    data = os.path.expanduser(settings.data)
    if os.path.isabs(data):
        return data
    return str(Path(root or Path(plan_path).parent) / data)


def compute(checked, plan_path: str, settings: ValueSettings, root: str | None = None) -> Values:
    """The values of every component, let and param for the payee of `settings`."""
    if checked is None:
        return Values(problem="the plan has errors: fix them to see values")
    try:
        session = Session(plan_path, data_folder(settings, plan_path, root),
                          [settings.period] if settings.period else None, plan=checked)
        run = session.execute(payee_ids=[settings.payee])
        by_name: dict = {}
        for p in run.payouts:
            if p.payee_id == settings.payee:
                by_name.setdefault(p.component, {})[str(p.period)] = show_value(Money(p.amount, p.currency))
        for payout in session.trace({settings.payee}):
            if payout.trace is None:
                continue
            for node in payout.trace.walk():
                if node.kind in ("let", "param"):
                    by_name.setdefault(node.name, {}).setdefault(str(payout.period), show_value(node.value, node.unit))
        periods = tuple(str(p) for p in run.periods)
        return Values({name: [(p, v[p]) for p in periods if p in v] for name, v in by_name.items()}, periods)
    except KamError as err:
        return Values(problem=_short(err))
    except Exception as err:  # noqa: BLE001 - a hover never takes the server down
        return Values(problem=_short(err))


def hover_lines(values: Values, name: str, kind: str, settings: ValueSettings) -> str | None:
    """The Markdown the hover adds for definition `name`, or None when values are off."""
    if not settings.active or kind not in ("component", "let", "param"):
        return None
    who = f"payee `{settings.payee}`" + (f", {settings.period}" if settings.period else "")
    if values.problem is not None:
        return f"value for {who}: unavailable ({values.problem})"
    rows = values.by_name.get(name)
    if not rows:
        return f"value for {who}: not computed (not paid or not reached in these periods)"
    lines = [f"- {period}: `{value}`" for period, value in rows[:_MAX_PERIODS]]
    if len(rows) > _MAX_PERIODS:
        lines.append(f"- … {len(rows) - _MAX_PERIODS} more periods (set `kamrules.period`)")
    return f"value for {who}:\n" + "\n".join(lines)


class ValueCache:
    """One `compute` per (document, version, settings): hovers on the same text reuse it."""

    def __init__(self):
        self._kept: dict = {}

    def get(self, uri: str, version, checked, plan_path: str, settings: ValueSettings,
            root: str | None = None) -> Values:
        key = (version, settings, root)
        kept = self._kept.get(uri)
        if kept is not None and kept[0] == key and kept[1] is checked:
            return kept[2]
        values = compute(checked, plan_path, settings, root)
        self._kept[uri] = (key, checked, values)
        return values

    def drop(self, uri: str) -> None:
        self._kept.pop(uri, None)
