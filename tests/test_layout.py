"""The architecture stays visible: packages import one way only, modules stay small and say what
they own, and no private name crosses a package boundary.

Computed from the source with `ast` (not from a list kept by hand): the order below is the
pipeline; a package may import only packages listed before it."""
from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent / "kamrules"
ORDER = ["diagnostics", "core", "files", "syntax", "check", "trace", "data", "backends.interp",
         "backends.polars", "backends.sql", "report", "run", "ledger", "portal", "lsp", "cli"]
# Modules at the top of the package: the facade may use anything; version nothing.
TOP = {"kamrules": None, "kamrules.__main__": None, "kamrules.version": -1}


def modules():
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield path, ".".join(parts)


def package(module: str) -> str | None:
    parts = module.split(".")
    if module in TOP or len(parts) < 2:
        return None
    if parts[1] == "backends" and len(parts) > 2:
        return "backends." + parts[2]
    return parts[1] if parts[1] != "backends" else "backends"


def imports(path: pathlib.Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kamrules"):
            yield node.module, [a.name for a in node.names], node.lineno
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("kamrules"):
                    yield a.name, [], node.lineno


def test_every_package_is_in_the_pipeline_order():
    found = {package(m) for _, m in modules()} - {None, "backends"}
    assert found == set(ORDER), f"packages not placed in ORDER: {found ^ set(ORDER)}"


def test_packages_import_only_earlier_packages():
    wrong = []
    for path, module in modules():
        mine = package(module)
        if mine is None or mine == "backends":
            continue
        for target, _, line in imports(path):
            theirs = package(target)
            if target == "kamrules.version" or theirs in (None, mine) or theirs == "backends":
                if target == "kamrules":
                    wrong.append(f"{module}:{line} imports the facade `kamrules`")
                continue
            if ORDER.index(theirs) > ORDER.index(mine):
                wrong.append(f"{module}:{line} ({mine}) imports {target} ({theirs})")
    assert not wrong, "\n".join(wrong)


def test_no_private_name_crosses_a_package():
    wrong = []
    for path, module in modules():
        for target, names, line in imports(path):
            if package(target) != package(module):
                wrong += [f"{module}:{line} imports {target}.{n}" for n in names
                          if n.startswith("_") and not n.startswith("__")]
    assert not wrong, "\n".join(wrong)


def test_modules_are_small_and_say_what_they_own():
    big = [f"{m}: {len(p.read_text().splitlines())} lines" for p, m in modules()
           if len(p.read_text().splitlines()) > 800]
    silent = [m for p, m in modules() if not ast.get_docstring(ast.parse(p.read_text()))]
    assert not big, big
    assert not silent, f"modules without a docstring: {silent}"
