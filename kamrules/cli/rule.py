"""`kamrules rule KRnnn` (as `ruff rule`): what a code means, an example and the fix, read
from docs/diagnostics.md (diagnostics/rules.py); `kamrules rule --all` lists every code with
its title. An unknown code is a usage error (exit 2) with the nearest code suggested.
"""
from __future__ import annotations

import sys

from kamrules.diagnostics.diagnostic import CODES, did_you_mean
from kamrules.diagnostics.rules import rule_text
from kamrules.files.outputs import write_stdout


def cmd_rule(args) -> int:
    if args.all or not args.code:
        write_stdout("".join(f"{code}  {title}\n" for code, title in CODES.items()))
        return 0
    text = rule_text(args.code.strip())
    if text is None:
        hint = did_you_mean(args.code.strip().upper(), CODES)
        print(f"kamrules rule: no code {args.code!r}" + (f"; {hint}" if hint else "")
              + " (`kamrules rule --all` lists them)", file=sys.stderr)
        return 2
    write_stdout(text)
    return 0


def register(sub):
    from kamrules.cli import examples
    r = sub.add_parser("rule", help="what a diagnostic code means, with an example and the fix", **examples(
        "kamrules rule KR203", "kamrules rule kr401", "kamrules rule --all"))
    r.add_argument("code", nargs="?", help="a code such as KR203 (any case)")
    r.add_argument("--all", action="store_true", help="list every code with its title")
    r.set_defaults(func=cmd_rule)
