"""Project settings: the `[tool.kamrules]` table of the nearest pyproject.toml.

Found by walking up from the plan file's folder; the first pyproject.toml that has a
`[tool.kamrules]` table wins. Keys:

    [tool.kamrules]
    select = ["KR5"]          # warnings to report: codes or prefixes (default: all)
    ignore = ["KR506"]        # warnings to drop: codes or prefixes
    locale = "fr"             # statements and team pages: en (default) or fr

    [tool.kamrules.payroll]   # component -> payroll earning code (`close`, `payroll`)
    advance = "COMM-ADV"

Only warnings (lints) are filtered; errors always show. A malformed table is a KR002
diagnostic pointing at the pyproject file.
"""
from __future__ import annotations

import os
import re
import tomllib

import attrs

from kamrules.diagnostics.diagnostic import Diagnostic, KamError
from kamrules.diagnostics.source import Span

_CODE = re.compile(r"^KR\d{0,3}$")


@attrs.frozen
class Config:
    select: tuple | None = None  # None: every warning
    ignore: tuple = ()
    path: str | None = None  # the pyproject.toml it came from
    payroll: dict = attrs.field(factory=dict)  # component -> earning code
    locale: str | None = None  # statements' language (report/i18n.py)


def find_pyproject(start: str) -> str | None:
    """The nearest pyproject.toml with a [tool.kamrules] table, from `start` upwards."""
    folder = os.path.abspath(start if os.path.isdir(start) else os.path.dirname(start) or ".")
    while True:
        candidate = os.path.join(folder, "pyproject.toml")
        if os.path.isfile(candidate):
            try:
                with open(candidate, "rb") as fh:
                    if "kamrules" in tomllib.load(fh).get("tool", {}):
                        return candidate
            except (OSError, tomllib.TOMLDecodeError):
                pass  # someone else's broken file: keep looking
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _codes(value, key: str, path: str) -> tuple:
    if not isinstance(value, list) or not all(isinstance(v, str) and _CODE.match(v.upper()) for v in value):
        raise KamError([Diagnostic(
            "KR002", f"[tool.kamrules] {key} must be a list of codes like \"KR503\" or prefixes like \"KR5\"",
            Span(path, 1, 1, 1, 2), f'e.g. {key} = ["KR503"]')])
    return tuple(v.upper() for v in value)


def load_config(plan_path: str) -> Config:
    """The settings that apply to `plan_path` (defaults when no pyproject declares any)."""
    path = find_pyproject(plan_path)
    if path is None:
        return Config()
    with open(path, "rb") as fh:
        table = tomllib.load(fh)["tool"]["kamrules"]
    unknown = sorted(set(table) - {"select", "ignore", "payroll", "locale"})
    if unknown:
        raise KamError([Diagnostic("KR002", f"[tool.kamrules] has unknown key `{unknown[0]}`",
                                   Span(path, 1, 1, 1, 2), "known keys: select, ignore, payroll, locale")])
    select = _codes(table["select"], "select", path) if "select" in table else None
    ignore = _codes(table.get("ignore", []), "ignore", path)
    payroll = table.get("payroll", {})
    if not isinstance(payroll, dict) or not all(isinstance(v, str) and v for v in payroll.values()):
        raise KamError([Diagnostic("KR002", "[tool.kamrules.payroll] maps component names to earning "
                                   "codes (text)", Span(path, 1, 1, 1, 2), 'e.g. advance = "COMM-ADV"')])
    locale = table.get("locale")
    if locale is not None and locale not in ("en", "fr"):
        raise KamError([Diagnostic("KR002", f"[tool.kamrules] locale must be \"en\" or \"fr\", not {locale!r}",
                                   Span(path, 1, 1, 1, 2), 'e.g. locale = "fr"')])
    return Config(select, ignore, path, dict(payroll), locale)
