"""`statement --format pdf`: a real PDF holding the payee's name and amounts (printed by headless
Chromium, or WeasyPrint; skipped when neither is installed), and the diagnostics when no
engine is there, when it fails, or when no output file is given: no file written."""
from __future__ import annotations

import shutil

import pytest

from conftest import EXAMPLES, PLANS, run_cli
from kamrules.report import pdf

PLAN = PLANS / "abtasty-kam.kam"
DATA = EXAMPLES / "01-abtasty-nrr-upsell"


def _text(path) -> str:
    pypdf = pytest.importorskip("pypdf", reason="pypdf (extra `test`) reads the PDF's text")
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(str(path)).pages)


def test_pdf_starts_with_the_magic_and_holds_the_name(tmp_path):
    if pdf.engine() is None:
        pytest.skip("no chromium binary and no weasyprint: install Debian's `chromium` (done by .ci/run) "
                    "or the extra `pdf`")
    out = tmp_path / "kam-001.pdf"
    r = run_cli("statement", PLAN, "--data", DATA, "--payee", "kam-001", "-o", out, "--locale", "fr")
    assert r.returncode == 0, r.stderr
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    text = _text(out)
    # people.csv names kam-001 Camille Martin; expected.csv: 12,600 + 6,000 = 18,600 EUR in 2025-Q1
    assert "Camille Martin" in text
    assert "18 600,00 €" in text.replace("\u202f", " ").replace("\xa0", " ")


def test_all_writes_one_pdf_per_payee(tmp_path):
    if pdf.engine() is None:
        pytest.skip("no chromium binary and no weasyprint: install Debian's `chromium` or the extra `pdf`")
    out = tmp_path / "pdfs"
    r = run_cli("statement", PLAN, "--data", DATA, "--all", "-o", out, "--format", "pdf", "--period", "2025-Q1")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["am-003.pdf", "kam-001.pdf", "kam-002.pdf"]
    assert "Hugo Bernard" in _text(out / "kam-002.pdf")  # people.csv's name of kam-002


def test_no_engine_is_kr760_and_no_file(tmp_path):
    if pdf.weasyprint() is not None:
        pytest.skip("WeasyPrint is installed: there is always an engine")
    out = tmp_path / "kam-001.pdf"
    r = run_cli("statement", PLAN, "--data", DATA, "--payee", "kam-001", "-o", out, env={"KAMRULES_CHROMIUM": ""})
    assert r.returncode == 1 and "KR760" in r.stderr and "kamrules[pdf]" in r.stderr
    assert "Traceback" not in r.stderr and not out.exists()


def test_a_failing_browser_is_kr761_and_no_file(tmp_path):
    fake = shutil.which("false")
    if fake is None:
        pytest.skip("no `false` binary to stand for a failing browser")
    out = tmp_path / "pdfs"
    r = run_cli("statement", PLAN, "--data", DATA, "--all", "-o", out, "--format", "pdf",
                env={"KAMRULES_CHROMIUM": fake})
    assert r.returncode == 1 and "KR761" in r.stderr and "exit 1" in r.stderr, r.stderr
    assert not out.exists() or not any(out.iterdir())


def test_pdf_needs_an_output_file():
    r = run_cli("statement", PLAN, "--data", DATA, "--payee", "kam-001", "--format", "pdf")
    assert r.returncode == 1 and "KR762" in r.stderr and r.stdout == ""
