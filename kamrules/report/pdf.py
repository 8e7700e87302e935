"""Statements as PDF: the HTML statement (and its print stylesheet) printed by headless
Chromium where a binary is installed (`chromium --headless --print-to-pdf`), else by
WeasyPrint when the optional extra `pdf` is installed, else a diagnostic saying how to get
one (KR760). Nothing is written here: the caller writes the bytes through files/outputs.py,
so a failure leaves no partial file.

Chromium runs in a temporary folder of its own (the page, a throwaway profile, the PDF),
bounded by a timeout; a run that fails or writes no PDF is KR761 with the end of its error
output. The page has no script and no external reference (statement_html.py), so printing
it reads nothing else.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile

from kamrules.diagnostics.diagnostic import Diagnostic, KamError

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT = 120  # seconds for one page


def chromium() -> str | None:
    """The headless browser binary (KAMRULES_CHROMIUM, else the first of BROWSERS on PATH)."""
    forced = os.environ.get("KAMRULES_CHROMIUM")
    if forced is not None:
        return shutil.which(forced) if forced else None  # empty: no browser (tests)
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


def weasyprint():
    try:
        import weasyprint as wp
    except (ImportError, OSError):  # OSError: the Pango library it loads is missing
        return None
    return wp


def engine() -> str | None:
    """"chromium", "weasyprint" or None."""
    if chromium():
        return "chromium"
    return "weasyprint" if weasyprint() is not None else None


def require() -> str:
    """The PDF engine, or KR760 saying how to install one (before anything is computed)."""
    found = engine()
    if found is None:
        raise KamError([Diagnostic(
            "KR760", "--format pdf needs headless Chromium or WeasyPrint, and neither is installed",
            hint="install Debian's `chromium` package (apt-get install chromium), or the extra: "
                 "pip install 'kamrules[pdf]' (WeasyPrint); or write --format html and print it")])
    return found


def to_pdf(html: str, name: str = "statement") -> bytes:
    """The PDF bytes of a self-contained HTML page."""
    if require() == "chromium":
        return _chromium(html, name)
    return weasyprint().HTML(string=html).write_pdf()


def _chromium(html: str, name: str) -> bytes:
    browser = chromium()
    with tempfile.TemporaryDirectory(prefix="kamrules-pdf-") as tmp:
        page, out = os.path.join(tmp, "page.html"), os.path.join(tmp, "page.pdf")
        with open(page, "w", encoding="utf-8") as fh:
            fh.write(html)
        argv = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-extensions", "--no-pdf-header-footer", f"--user-data-dir={os.path.join(tmp, 'profile')}",
                f"--print-to-pdf={out}", "file://" + page]
        why = None
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, start_new_session=True)
        except OSError as err:
            why = str(err)
        else:
            try:
                _, err = proc.communicate(timeout=TIMEOUT)
                if proc.returncode != 0:
                    why = f"exit {proc.returncode}: {err.strip()[-400:]}"
            except subprocess.TimeoutExpired:
                why = f"no PDF after {TIMEOUT} s"
            finally:
                if proc.poll() is None or why is not None:
                    with contextlib.suppress(OSError):
                        os.killpg(proc.pid, signal.SIGKILL)  # the browser and the processes it started
                    proc.communicate()
        data = b""
        if why is None:
            try:
                with open(out, "rb") as fh:
                    data = fh.read()
            except OSError:
                data = b""
            if not data.startswith(b"%PDF"):
                why = "it wrote no PDF"
    if why is not None:
        raise KamError([Diagnostic("KR761", f"{browser} could not print the statement of {name} to PDF: {why}",
                                   hint="check that `chromium --headless --print-to-pdf=x.pdf page.html` works "
                                        "here, or unset it (KAMRULES_CHROMIUM=) to use WeasyPrint")])
    return data
