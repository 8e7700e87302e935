"""`kamrules init DIR [--template NAME]` and `kamrules init --list`: a new plan project.

A template is a folder of kamrules/templates/ (package data): `<name>.kam`, the plan, taken
from a verified plan of plans/ (nrr-upsell: abtasty-kam, advances: media-advance,
sale-grid: equipment-colour-grid, pool: pharma-rire, split: charter-split); `data/`, a
small example data folder; `tests/<name>/example/`, one plan test case on that data whose
`expected.csv` derives every payout by hand in its `note` column. Every project also gets
`.pre-commit-config.yaml` and `README.md`, from the two shared files of the templates
folder (`pre-commit-config.yaml` as is; `README.md.in` with `$name`, `$title`, `$summary`
and `$payee` filled in). tests/test_init.py inits every template and checks, tests and runs it.

DIR must be new or an empty folder (KR741 otherwise; a file or a link: KR705 / KR703); an
unknown template is KR742. Every file is written through kamrules/files/outputs.py, all of
them or none: on a failure, the folders init made are removed again.
"""
from __future__ import annotations

import csv
import io
import os
from importlib import resources
from string import Template

from kamrules.diagnostics.diagnostic import Diagnostic, KamError, did_you_mean
from kamrules.diagnostics.textsafe import for_terminal
from kamrules.files import outputs

DEFAULT = "nrr-upsell"
# name -> what `init --list` says of it; the order of the list
TEMPLATES = {
    "nrr-upsell": "NRR and net upsell, quarterly, on an uncapped curve with a decelerator and an accelerator",
    "advances": "monthly advances on billing capped at 75%, trued up each quarter, regularised in December",
    "sale-grid": "a bonus per won sale, rate by discount colour in a grid, gated by margin",
    "pool": "a yearly envelope shared between payees by relative performance (share)",
    "split": "an AE / KAM split: 8% to the AE who closes, a capped 3% fee to the group's KAM",
}
SHARED = {"pre-commit-config.yaml": ".pre-commit-config.yaml", "README.md.in": "README.md"}


def _root():
    return resources.files("kamrules") / "templates"


def _walk(folder, prefix: str = ""):
    """(relative path, bytes) of every file under a template folder, sorted."""
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        rel = f"{prefix}{entry.name}"
        if entry.is_dir():
            if entry.name != "__pycache__":
                yield from _walk(entry, rel + "/")
        else:
            yield rel, entry.read_bytes()


def _title(plan_text: str) -> str:
    for line in plan_text.splitlines():
        if line.startswith("plan "):
            return line.split('"')[1]
    return "Plan"


def _first_payee(data: bytes) -> str:
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    return rows[0]["payee_id"] if rows else "ID"


def project_files(name: str) -> list[tuple[str, bytes]]:
    """(path relative to DIR, content) of every file of a new project from template `name`."""
    if name not in TEMPLATES:
        raise KamError([Diagnostic("KR742", f"--template {name}: no such template",
                                   hint=did_you_mean(name, TEMPLATES)
                                   or "templates: " + ", ".join(TEMPLATES) + " (kamrules init --list)")])
    files = list(_walk(_root() / name))
    content = dict(files)
    fill = {"name": name, "summary": TEMPLATES[name],
            "title": _title(content[f"{name}.kam"].decode("utf-8")),
            "payee": _first_payee(content["data/people.csv"])}
    for shared, target in SHARED.items():
        text = (_root() / shared).read_text(encoding="utf-8")
        if shared.endswith(".in"):
            text = Template(text).substitute(fill)
        files.append((target, text.encode("utf-8")))
    return sorted(files)


def _check_empty(folder: str) -> None:
    outputs.check_folder(folder, "DIR")  # a link (KR703), a file (KR705), unreadable (KR701)
    if os.path.isdir(folder):
        present = sorted(os.listdir(folder))
        if present:
            shown = ", ".join(present[:5]) + (", ..." if len(present) > 5 else "")
            raise KamError([Diagnostic("KR741", f"{folder} is not empty ({shown}): kamrules init "
                                       "starts a project in a new or empty folder",
                                       hint=f"name a new folder, e.g. kamrules init "
                                            f"{folder.rstrip(os.sep) or '.'}-plan; nothing was written")])


def create(folder: str, name: str) -> list[str]:
    """Write the project of template `name` into `folder` (new or empty); its relative paths."""
    files = project_files(name)
    _check_empty(folder)
    made = []  # the folders made here, top down: removed again when the writing fails
    try:
        for sub in sorted({os.path.dirname(os.path.join(folder, rel)) for rel, _ in files}, key=len):
            missing, path = [], os.path.normpath(sub)
            while path and not os.path.isdir(path) and path not in missing:
                missing.append(path)
                path = os.path.dirname(path)
            for path in reversed(missing):
                outputs.make_folder(path, "DIR")
                made.append(path)
        outputs.write_files([(os.path.join(folder, rel), lambda fh, data=data: fh.write(data))
                             for rel, data in files], "DIR")
    except BaseException:
        for path in reversed(made):
            try:
                os.rmdir(path)
            except OSError:
                pass
        raise
    return [rel for rel, _ in files]


def list_text() -> str:
    width = max(len(n) for n in TEMPLATES)
    lines = [f"{n:<{width}}  {text}{' (default)' if n == DEFAULT else ''}" for n, text in TEMPLATES.items()]
    return "\n".join(lines) + "\n"


def cmd_init(args) -> int:
    if args.list:
        outputs.write_stdout(list_text())
        return 0
    if args.dir is None:
        raise KamError([Diagnostic("KR742", "kamrules init needs the folder of the new project",
                                   hint="kamrules init my-plan [--template NAME]; "
                                        "kamrules init --list shows the templates")])
    written = create(args.dir, args.template)
    plan = f"{args.template}.kam"
    where = for_terminal(args.dir)
    outputs.write_stdout(
        f"created {where} from template {args.template} ({len(written)} files): {plan}, data/, "
        f"tests/{args.template}/example/, README.md, .pre-commit-config.yaml\n"
        f"next: cd {where} && kamrules check {plan} && kamrules test . && "
        f"kamrules run {plan} --data data\n")
    return 0


def register(sub):
    from kamrules.cli import examples

    i = sub.add_parser("init", help="start a new plan project from a template", **examples(
        "kamrules init --list",
        "kamrules init my-plan",
        "kamrules init q3-spiff --template sale-grid"))
    i.add_argument("dir", nargs="?", metavar="DIR", help="the new project's folder (new or empty)")
    i.add_argument("--template", default=DEFAULT, metavar="NAME",
                   help=f"the template (default {DEFAULT}): {', '.join(TEMPLATES)}")
    i.add_argument("--list", action="store_true", help="list the templates and what each pays")
    i.set_defaults(func=cmd_init)
