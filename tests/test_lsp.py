"""`kamrules lsp` driven as an editor drives it: a JSON-RPC client over the stdio of a real
`python -m kamrules lsp` process (the process and its framing are the point), one session
for the whole module. Expected positions are worked out from the plan text below (0-based
lines and columns, as LSP counts).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import queue

import pytest

from conftest import ROOT, run_cli
from test_diagnostics_render import HEAD  # the header and payees of the small plans

pygls = pytest.importorskip("pygls", reason="pygls (the `lsp` extra) is not installed")

PLAN = HEAD + '''input deals {
  owner: Text
  amount: Money
}

let booked = sum(amount for deals where owner == payee.id)
let attainment = booked / payee.target
component upsell = payee.target * attainment
'''
URI = "file:///tmp/kamrules-lsp-test/plan.kam"
LINE = {text.split(" = ")[0]: n for n, text in enumerate(PLAN.split("\n"))}  # 'let booked' -> 14


class Client:
    def __init__(self):
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen([sys.executable, "-m", "kamrules", "lsp"], cwd=ROOT, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.inbox: queue.Queue = queue.Queue()
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        out = self.proc.stdout
        while True:
            headers = {}
            while True:
                line = out.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                key, _, value = line.decode("ascii").partition(":")
                headers[key.strip().lower()] = value.strip()
            self.inbox.put(json.loads(out.read(int(headers["content-length"]))))

    def send(self, message: dict):
        body = json.dumps(message).encode("utf-8")
        self.proc.stdin.write(f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body)
        self.proc.stdin.flush()

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method, params):
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        return self.wait(lambda m: m.get("id") == self.next_id and "method" not in m)

    def wait(self, pred, timeout=30):
        kept = []
        try:
            while True:
                m = self.inbox.get(timeout=timeout)
                if pred(m):
                    return m.get("result", m.get("params"))
                kept.append(m)
        finally:
            for m in kept:
                self.inbox.put(m)

    def diagnostics(self):
        return self.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics")["diagnostics"]


@pytest.fixture(scope="module")
def client():
    c = Client()
    init = c.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
    caps = init["capabilities"]
    assert caps["hoverProvider"] and caps["definitionProvider"] and caps["renameProvider"]
    assert caps["completionProvider"]["triggerCharacters"] == ["."]
    c.notify("initialized", {})
    c.notify("textDocument/didOpen", {"textDocument": {"uri": URI, "languageId": "kamrules",
                                                       "version": 1, "text": PLAN}})
    assert c.diagnostics() == []  # the plan is clean
    yield c
    c.request("shutdown", None)
    c.notify("exit", None)
    c.proc.wait(timeout=10)
    c.proc.stdout.close(), c.proc.stdin.close(), c.proc.stderr.close()


def pos(line, character):
    return {"textDocument": {"uri": URI}, "position": {"line": line, "character": character}}


def change(client, text, version):
    client.notify("textDocument/didChange", {"textDocument": {"uri": URI, "version": version},
                                             "contentChanges": [{"text": text}]})
    return client.diagnostics()


def test_diagnostics_as_you_type_have_the_codes_and_ranges_of_check(client, tmp_path):
    bad = PLAN.replace("payee.target * attainment", "payee.target + 100")
    diags = change(client, bad, 2)
    (tmp_path / "p.kam").write_text(bad, encoding="utf-8")
    cli = json.loads(run_cli("check", "--output-format", "json", "p.kam", cwd=tmp_path).stdout)
    want = [(d["code"], d["line"] - 1, d["column"] - 1, d["end_line"] - 1, d["end_column"] - 1)
            for d in cli["files"][0]["diagnostics"]]
    got = [(d["code"], d["range"]["start"]["line"], d["range"]["start"]["character"],
            d["range"]["end"]["line"], d["range"]["end"]["character"]) for d in diags]
    assert got == want and want[0][0] == "KR203"  # the same findings; and one is the error
    kr203 = diags[[d["code"] for d in diags].index("KR203")]
    assert "`100 EUR`" in kr203["message"] and kr203["codeDescription"]["href"].endswith("#kr203")
    assert [r["message"] for r in kr203["relatedInformation"]] == ["this is Money[EUR]", "this is Number"]
    # a half-typed line: KR001 at once, and hover still answers from the last good analysis
    diags = change(client, PLAN + "let x = (\n", 3)
    assert [d["code"] for d in diags] == ["KR001"]
    hover = client.request("textDocument/hover", pos(LINE["let attainment"], 4))
    assert hover["contents"]["value"].startswith("let `attainment`: Rate")
    assert change(client, PLAN, 4) == []


def test_hover_gives_type_and_unit(client):
    hover = client.request("textDocument/hover", pos(LINE["let booked"], 5))
    assert hover["contents"]["value"].startswith("let `booked`: Money[EUR]\n\n```kam\nlet booked = sum(")
    # `target` in `payee.target` (line 15 `let attainment = booked / payee.target`, col 32)
    hover = client.request("textDocument/hover", pos(LINE["let attainment"], 32))
    assert hover["contents"]["value"].startswith("column `target` of `people`: Money[EUR]")
    hover = client.request("textDocument/hover", pos(LINE["let booked"], 14))  # `sum`
    assert hover["contents"]["value"].startswith("built-in `sum(x for rows)`")


def test_definition_references_and_rename(client):
    line = LINE["component upsell"]
    col = PLAN.split("\n")[line].index("attainment") + 2
    loc = client.request("textDocument/definition", pos(line, col))
    assert loc["range"] == {"start": {"line": LINE["let attainment"], "character": 4},
                            "end": {"line": LINE["let attainment"], "character": 14}}
    refs = client.request("textDocument/references", {**pos(LINE["let booked"], 5),
                                                       "context": {"includeDeclaration": True}})
    assert sorted((r["range"]["start"]["line"], r["range"]["start"]["character"]) for r in refs) == \
        [(LINE["let booked"], 4), (LINE["let attainment"], 17)]
    edit = client.request("textDocument/rename", {**pos(LINE["let booked"], 5), "newName": "bookings"})
    edits = edit["changes"][URI]
    assert sorted((e["range"]["start"]["line"], e["newText"]) for e in edits) == \
        [(LINE["let booked"], "bookings"), (LINE["let attainment"], "bookings")]
    assert client.request("textDocument/rename", {**pos(LINE["let booked"], 5), "newName": "sum"}) is None


def test_symbols_formatting_and_completion(client):
    syms = client.request("textDocument/documentSymbol", {"textDocument": {"uri": URI}})
    assert [(s["name"], s["detail"]) for s in syms] == [
        ("people", "input input with 2 columns, key payee_id"), ("deals", "input input with 2 columns"),
        ("booked", "let Money[EUR]"), ("attainment", "let Rate"), ("upsell", "component Money[EUR]")]
    assert [c["name"] for c in syms[0]["children"]] == ["payee_id", "target"]
    messy = PLAN.replace("let booked = sum(", "let   booked=sum(")
    change(client, messy, 5)
    [edit] = client.request("textDocument/formatting", {"textDocument": {"uri": URI},
                                                        "options": {"tabSize": 2, "insertSpaces": True}})
    fmt = run_cli("fmt", "-", input=messy).stdout  # what `kamrules fmt` gives
    assert edit["newText"] == fmt and "let booked = sum(" in fmt
    change(client, PLAN, 6)
    line = LINE["component upsell"]
    col = PLAN.split("\n")[line].index("payee.") + len("payee.")
    items = client.request("textDocument/completion", pos(line, col))["items"]
    assert {i["label"] for i in items} == {"payee_id", "target", "id"}
    items = client.request("textDocument/completion", pos(line, 19))["items"]
    labels = {i["label"]: i.get("detail") for i in items}
    assert labels["booked"] == "Money[EUR]" and labels["round"] == "round(x, cent, half_up)"
    # inside `sum(... for deals where ...)`: the columns of deals
    items = client.request("textDocument/completion", pos(LINE["let booked"], 50))["items"]
    assert {"owner", "amount"} <= {i["label"] for i in items}


def test_code_action_applies_the_did_you_mean(client):
    bad = PLAN.replace("payee.target * attainment", "payee.target * attainmnt")
    [d] = change(client, bad, 7)
    actions = client.request("textDocument/codeAction", {"textDocument": {"uri": URI}, "range": d["range"],
                                                         "context": {"diagnostics": [d]}})
    [action] = actions
    [edit] = action["edit"]["changes"][URI]
    assert (action["title"], edit["newText"], edit["range"]) == (
        "replace `attainmnt` with `attainment`", "attainment", d["range"])
    change(client, PLAN, 8)


def _data(folder, deals="owner,amount\np1,600\np1,300\np2,100\n"):
    folder.mkdir(exist_ok=True)
    (folder / "people.csv").write_text("payee_id,target\np1,1000\np2,2000\n", encoding="utf-8")
    (folder / "deals.csv").write_text(deals, encoding="utf-8")
    return folder


def configure(client, **settings):
    client.notify("workspace/didChangeConfiguration", {"settings": {"kamrules": settings}})


def hover_text(client, name_line, name):
    line = PLAN.split("\n")[LINE[name_line]]
    return client.request("textDocument/hover", pos(LINE[name_line], line.index(name) + 1))["contents"]["value"]


def test_hover_shows_the_value_for_the_configured_payee(client, tmp_path):
    """p1 (target 1000 EUR) booked 600 + 300 = 900 EUR: attainment 900 / 1000 = 90%, upsell
    1000 x 90% = 900.00 EUR, the amount `kamrules run` prints for p1."""
    data = _data(tmp_path / "data")
    (tmp_path / "plan.kam").write_text(PLAN, encoding="utf-8")
    run = run_cli("run", tmp_path / "plan.kam", "--data", data, "--period", "2025").stdout
    assert "p1,2025,upsell,900.00,EUR" in run
    configure(client, data=str(data), payee="p1", period="2025")
    try:
        text = hover_text(client, "component upsell", "upsell")
        assert text.startswith("component `upsell`: Money[EUR]")  # the type first, as before
        assert text.endswith("value for payee `p1`, 2025:\n- 2025: `900.00 EUR`")
        assert hover_text(client, "let booked", "booked").endswith("- 2025: `900.00 EUR`")
        assert hover_text(client, "let attainment", "attainment").endswith("- 2025: `90%`")
        # a new version of the text is computed again: 1000 x 90% x 2 = 1800.00 EUR
        change(client, PLAN.replace("payee.target * attainment", "payee.target * attainment * 2"), 20)
        assert hover_text(client, "component upsell", "upsell").endswith("- 2025: `1800.00 EUR`")
        # the same version is not: a data change shows once the text changes again
        _data(data, deals="owner,amount\np1,100\n")
        assert hover_text(client, "component upsell", "upsell").endswith("- 2025: `1800.00 EUR`")
        change(client, PLAN, 21)
        assert hover_text(client, "component upsell", "upsell").endswith("- 2025: `100.00 EUR`")
        # problems are one short line in the hover, and the server goes on
        configure(client, payee="nobody")
        text = hover_text(client, "component upsell", "upsell")
        assert "value for payee `nobody`, 2025: unavailable (KR405: " in text and "\n" not in text.split("\n\n")[-1]
        configure(client, payee="p1")
        _data(data, deals="owner,amount\np1,12x\n")
        change(client, PLAN + "\n", 22)
        text = hover_text(client, "component upsell", "upsell")
        assert "unavailable (KR4" in text and "deals.csv" in text
        _data(data)
        change(client, PLAN.replace("payee.target * attainment", "payee.target + 100"), 23)  # KR203
        assert "unavailable (the plan has errors: fix them to see values)" in hover_text(client, "let booked", "booked")
        change(client, PLAN, 24)
        assert hover_text(client, "let booked", "booked").endswith("- 2025: `900.00 EUR`")
    finally:
        configure(client, data=None, payee=None, period=None)
    assert "value for" not in hover_text(client, "let booked", "booked")


def test_hover_values_from_initialization_options(tmp_path):
    """Settings given at start, the data folder relative to the workspace folder: p2 booked
    100 EUR of a 2000 EUR target, so upsell = 2000 x 5% = 100.00 EUR."""
    _data(tmp_path / "data")
    c = Client()
    try:
        c.request("initialize", {"processId": None, "rootUri": f"file://{tmp_path}", "capabilities": {},
                                 "initializationOptions": {"kamrules.data": "data", "kamrules.payee": "p2",
                                                           "kamrules.period": "2025"}})
        c.notify("initialized", {})
        c.notify("textDocument/didOpen", {"textDocument": {"uri": URI, "languageId": "kamrules",
                                                           "version": 1, "text": PLAN}})
        assert c.diagnostics() == []
        assert hover_text(c, "let attainment", "attainment").endswith("value for payee `p2`, 2025:\n- 2025: `5%`")
        assert hover_text(c, "component upsell", "upsell").endswith("- 2025: `100.00 EUR`")
        c.request("shutdown", None)
        c.notify("exit", None)
        c.proc.wait(timeout=10)
    finally:
        if c.proc.poll() is None:
            c.proc.kill()
            c.proc.wait(timeout=10)
        c.proc.stdout.close(), c.proc.stdin.close(), c.proc.stderr.close()


def test_without_pygls_the_command_says_so(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_pygls(name, *args, **kwargs):
        if name.startswith("kamrules.lsp.server") or name.startswith("pygls"):
            raise ImportError("No module named 'pygls'", name="pygls")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pygls)
    result = run_cli("lsp")
    assert result.returncode == 2 and "pip install 'kamrules[lsp]'" in result.stderr
