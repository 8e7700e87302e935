"""editors/vscode/: the VS Code extension's TextMate grammar says what the Pygments lexer
(kamrules/syntax/highlight.py) says. Its keyword and built-in lists are the lexer's and the
registry's (core/builtins.py); on every plan of plans/ and every example of docs/examples/
no token is unknown, and each token gets the scope family of the lexer's token type. The
grammar is run here as TextMate runs it on a line (at each place, the first pattern that
matches there; its regexes use only syntax that Python's `re` and Oniguruma share).

The extension packages with `vsce` (from the npm registry) into a .vsix that holds the grammar,
the manifest and the language client: a minute of downloads, so only with KAMRULES_TEST_VSCE=1
(.ci/run sets it when it could install npm).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile

import pytest
from pygments.token import Comment, Keyword, Literal, Name, Number, Operator, Punctuation, String, Whitespace

from conftest import ROOT
from kamrules.core.builtins import NAMES
from kamrules.syntax.highlight import EXPR_KEYWORDS, STATEMENT_KEYWORDS, KamLexer

VSCODE = ROOT / "editors" / "vscode"
GRAMMAR = json.loads((VSCODE / "syntaxes" / "kam.tmLanguage.json").read_text(encoding="utf-8"))
PATTERNS = [(re.compile(p["match"]), p) for p in GRAMMAR["patterns"]]
FILES = sorted(ROOT.glob("plans/*.kam")) + sorted(ROOT.glob("docs/examples/**/*.kam"))

# the lexer's token type -> the scope (prefix) the grammar gives the same text
FAMILY = [(Keyword.Declaration, "keyword.declaration"), (Keyword.Constant, "constant.language"),
          (Keyword.Type, "storage.type"), (Operator.Word, "keyword.operator.word"),
          (Operator, "keyword.operator"), (Name.Builtin.Pseudo, "variable.language"),
          (Name.Builtin, "support.function.builtin"), (Name.Attribute, "variable.other.member"),
          (Name.Variable, "variable.other.definition"), (Name.Function, "entity.name.function"),
          (Name.Class, "entity.name.type"), (Name.Constant, "support.constant.currency"),
          (Name, "variable.other"), (Number, "constant.numeric"), (Literal.Date, "constant.other"),
          (String, "string.quoted"), (Comment, "comment.line"), (Punctuation, "punctuation")]


def tm_tokens(text: str):
    """(text, scope) of every scoped token of `text`, line by line, as TextMate finds them."""
    for line in text.split("\n"):
        i = 0
        while i < len(line):
            if line[i].isspace():
                i += 1
                continue
            for rx, pat in PATTERNS:
                m = rx.match(line, i)
                if m and m.end() > i:
                    break
            else:
                yield line[i], "none"
                i += 1
                continue
            if "captures" in pat:
                for group, cap in sorted(pat["captures"].items()):
                    yield m.group(int(group)), cap["name"]
            else:
                yield m.group(), pat["name"]
            i = m.end()


def lexer_tokens(text: str):
    for ttype, value in KamLexer().get_tokens(text):
        if ttype in Whitespace or not value.strip():
            continue
        yield value, next((scope for t, scope in FAMILY if ttype in t), "invalid")


def _words(scope: str) -> set[str]:
    [pat] = [p for p in GRAMMAR["patterns"] if p.get("name") == scope]
    return set(re.search(r"\(\?:([^)]*)\)", pat["match"]).group(1).split("|"))


def test_keywords_and_builtins_are_the_lexers_and_the_registrys():
    assert _words("keyword.declaration.kam") == set(STATEMENT_KEYWORDS)
    assert _words("keyword.operator.word.kam") == set(EXPR_KEYWORDS)
    assert _words("support.function.builtin.kam") == set(NAMES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_unknown_token_and_the_scopes_of_the_lexer(path):
    text = path.read_text(encoding="utf-8")
    got = list(tm_tokens(text))
    unknown = [t for t in got if t[1] in ("none", "invalid.illegal.kam")]
    assert not unknown, unknown[:5]
    want = list(lexer_tokens(text))
    assert [t for t, _ in got] == [t for t, _ in want]
    wrong = [(t, g, w) for (t, g), (_, w) in zip(got, want) if not g.startswith(w)]
    assert not wrong, wrong[:5]


def test_the_grammar_flags_what_the_language_does_not_have():
    assert ("@", "invalid.illegal.kam") in list(tm_tokens("let a = 1 @ 2"))


def test_the_extension_wires_the_language_the_grammar_and_the_server():
    pkg = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    [lang] = pkg["contributes"]["languages"]
    [grammar] = pkg["contributes"]["grammars"]
    assert lang["extensions"] == [".kam"] and grammar["scopeName"] == GRAMMAR["scopeName"]
    assert (VSCODE / grammar["path"]).exists() and (VSCODE / lang["configuration"]).exists()
    assert pkg["contributes"]["configuration"]["properties"]["kamrules.server.args"]["default"] == ["lsp"]
    config = json.loads((VSCODE / "language-configuration.json").read_text(encoding="utf-8"))
    assert config["comments"]["lineComment"] == "#"
    client = (VSCODE / pkg["main"]).read_text(encoding="utf-8")
    assert "vscode-languageclient/node" in client
    # the hover values' settings (kamrules/lsp/values.py) are declared and sent to the server
    props = pkg["contributes"]["configuration"]["properties"]
    assert {"kamrules.data", "kamrules.payee", "kamrules.period"} <= set(props)
    assert 'configurationSection: "kamrules"' in client and "initializationOptions: { kamrules: values }" in client


def _npm(*args, cwd, timeout=300):
    env = dict(os.environ, npm_config_update_notifier="false", npm_config_fund="false",
               npm_config_audit="false")
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout)


def test_vsce_packages(tmp_path):
    """`vsce package` in a copy of editors/vscode (after installing the client library it
    ships): the .vsix holds the manifest, the grammar byte for byte, and the client."""
    if os.environ.get("KAMRULES_TEST_VSCE") != "1":
        pytest.skip("packaging downloads vsce and the language client from the npm registry "
                    "(about a minute): set KAMRULES_TEST_VSCE=1 to run it (.ci/run does)")
    npm, npx = shutil.which("npm"), shutil.which("npx")
    if not (npm and npx):
        pytest.skip("npm/npx are not installed (.ci/run installs Debian's nodejs and npm)")
    ping = _npm(npm, "ping", cwd=tmp_path, timeout=60)
    if ping.returncode != 0:
        pytest.skip(f"the npm registry cannot be reached: {(ping.stderr or ping.stdout).strip()[-200:]}")
    copy = tmp_path / "vscode"
    shutil.copytree(VSCODE, copy, ignore=shutil.ignore_patterns("node_modules", "*.vsix"))
    installed = _npm(npm, "install", "--omit=dev", cwd=copy)
    assert installed.returncode == 0, installed.stderr[-2000:]
    packed = _npm(npx, "--yes", "@vscode/vsce", "package", "--allow-missing-repository",
                  "--skip-license", "-o", "kamrules.vsix", cwd=copy)
    assert packed.returncode == 0, (packed.stdout + packed.stderr)[-2000:]
    with zipfile.ZipFile(copy / "kamrules.vsix") as vsix:
        names = set(vsix.namelist())
        manifest = json.loads(vsix.read("extension/package.json"))
        grammar = vsix.read("extension/syntaxes/kam.tmLanguage.json")
    source = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    assert manifest["contributes"] == source["contributes"] and manifest["main"] == "./extension.js"
    assert grammar == (VSCODE / "syntaxes" / "kam.tmLanguage.json").read_bytes()
    assert {"extension/extension.js", "extension/language-configuration.json",
            "extension/node_modules/vscode-languageclient/package.json"} <= names
    assert not any(n.endswith(".vsix") for n in names)
