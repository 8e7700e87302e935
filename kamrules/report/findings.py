"""Renderers of `kamrules check` findings for people and for CI: text, json, github, junit, sarif.

Input: a list of `Checked` (one per plan file: its path, source text if it could be read, and
its diagnostics). Output: one string. No renderer prints pay amounts: findings are about plans.

- text: the caret blocks of `diagnostics.render_text`, then a one-line summary.
- json: {"version": 1, "files": [{"file", "errors", "warnings", "diagnostics": [...]}], "summary"}.
- github: workflow commands, `::error file=F,line=L,col=C,title=KRnnn::message` (warnings as
  `::warning`), shown as annotations on pull requests; one line per finding (%, CR, LF encoded,
  and `:` `,` in properties), controls of the plan or data escaped (textsafe.for_terminal).
- junit: one <testcase> per plan; a <failure> per error (and per warning with --strict).
- sarif: SARIF 2.1.0, one run, rules from `diagnostics.CODES` (helpUri: the code's section at
  $KAMRULES_DOCS_URL when set, else the relative docs/diagnostics.md#krnnn; the docs' fix), results
  with relatedLocations and fixes, one invocation with the exit code; for code-scanning uploads.
"""
from __future__ import annotations

import json
import os

import attrs

from kamrules.version import __version__
from kamrules.diagnostics.diagnostic import CODES, Diagnostic
from kamrules.diagnostics.fixes import safe_edits
from kamrules.diagnostics.render import PLAIN, Style, render_text
from kamrules.diagnostics.rules import docs_url, fix_text
from kamrules.diagnostics.source import SourceFile
from kamrules.diagnostics.textsafe import for_terminal, json_safe

FORMATS = ("text", "json", "github", "junit", "sarif")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
DOCS = "docs/diagnostics.md"


@attrs.frozen
class Checked:
    path: str
    source: SourceFile | None
    diagnostics: tuple


def _counts(results):
    errors = sum(1 for r in results for d in r.diagnostics if d.is_error)
    return errors, sum(len(r.diagnostics) for r in results) - errors


def _failing(d: Diagnostic, strict: bool) -> bool:
    return d.is_error or strict


def render(fmt: str, results: list[Checked], strict: bool = False, color: bool = False) -> str:
    """The findings in format `fmt`; `color` is for text only (render.color_wanted decides)."""
    if fmt == "text":
        return render_text_report(results, strict, Style(color=color))
    return {"json": render_json, "github": render_github,
            "junit": render_junit, "sarif": render_sarif}[fmt](results, strict)


def render_text_report(results, strict=False, style: Style = PLAIN) -> str:
    blocks = []
    for r in results:
        sources = {r.source.path: r.source} if r.source is not None else {}
        blocks += [render_text(d, sources, style) for d in r.diagnostics]
    errors, warnings = _counts(results)
    summary = f"{len(results)} plan(s) checked: {errors} error(s), {warnings} warning(s)"
    return "\n".join(blocks + [summary]) + "\n"


def render_json(results, strict=False) -> str:
    files = []
    for r in results:
        errors = sum(1 for d in r.diagnostics if d.is_error)
        files.append({"file": r.path, "errors": errors, "warnings": len(r.diagnostics) - errors,
                      "diagnostics": [d.to_json() for d in r.diagnostics]})
    errors, warnings = _counts(results)
    out = {"version": 1, "files": files,
           "summary": {"plans": len(results), "errors": errors, "warnings": warnings}}
    return json_safe(json.dumps(out, indent=2, ensure_ascii=False)) + "\n"


def _gh_data(s: str) -> str:
    """A workflow-command message: %, CR and LF encoded as GitHub requires (one line)."""
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(s: str) -> str:
    return _gh_data(s).replace(":", "%3A").replace(",", "%2C")


def render_github(results, strict=False) -> str:
    lines = []
    for r in results:
        for d in r.diagnostics:
            level = "error" if _failing(d, strict) else "warning"
            props = []
            span = d.span
            if span is not None and span.line > 0:
                props += [f"file={_gh_prop(for_terminal(span.file))}", f"line={span.line}", f"col={span.column}"]
                if span.end_line >= span.line:
                    props += [f"endLine={span.end_line}"]
                    if span.end_line == span.line:
                        props += [f"endColumn={span.end_column}"]
            else:
                props.append(f"file={_gh_prop(for_terminal(r.path))}")
            props.append(f"title={_gh_prop(d.code)}")
            # controls of the plan or data shown escaped; the one LF before the hint is ours
            message = for_terminal(d.message) + (f"\nhint: {for_terminal(d.hint)}" if d.hint else "")
            lines.append(f"::{level} {','.join(props)}::{_gh_data(message)}")
    return "".join(line + "\n" for line in lines)


def render_junit(results, strict=False) -> str:
    from xml.sax.saxutils import escape, quoteattr  # here: it imports urllib.request (25 ms of every check)

    cases, failures = [], 0
    for r in results:
        failing = [d for d in r.diagnostics if _failing(d, strict)]
        failures += bool(failing)
        body = "".join(
            f"\n      <failure type={quoteattr(d.code)} message={quoteattr(for_terminal(d.message))}>"
            f"{escape(render_text(d, {r.source.path: r.source} if r.source else {}))}</failure>"
            for d in failing)
        others = [d for d in r.diagnostics if not _failing(d, strict)]
        if others:
            text = "\n".join(render_text(d, {r.source.path: r.source} if r.source else {}) for d in others)
            body += f"\n      <system-out>{escape(text)}</system-out>"
        close = "\n    </testcase>" if body else "/>"
        head = f"    <testcase classname=\"kamrules.check\" name={quoteattr(for_terminal(r.path))}"
        cases.append(head + (">" + body + close if body else close))
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"
            f"  <testsuite name=\"kamrules check\" tests=\"{len(results)}\" failures=\"{failures}\" "
            "errors=\"0\">\n" + "\n".join(cases) + ("\n" if cases else "") + "  </testsuite>\n</testsuites>\n")


def _region(span) -> dict:
    region = {"startLine": span.line, "startColumn": span.column}
    if span.end_line >= span.line and span.end_line > 0:
        region["endLine"] = span.end_line
        if span.end_column > 0:
            region["endColumn"] = span.end_column
    return region


def _sarif_location(span, default_uri: str, message: str | None = None, id_: int | None = None) -> dict:
    loc = {"physicalLocation": {"artifactLocation": {"uri": span.file if span is not None and span.line > 0
                                                    else default_uri}}}
    if span is not None and span.line > 0:
        loc["physicalLocation"]["region"] = _region(span)
    if id_ is not None:
        loc = {"id": id_, **loc}
    if message is not None:
        loc["message"] = {"text": message}
    return loc


def _help_uri(code: str) -> str:
    """The code's section in the published docs ($KAMRULES_DOCS_URL), or the docs page of the
    repository as a relative path (never a file: address of the machine that ran the check)."""
    return docs_url(code) if os.environ.get("KAMRULES_DOCS_URL") else f"{DOCS}#{code.lower()}"


def _sarif_rule(code: str) -> dict:
    rule = {"id": code, "shortDescription": {"text": CODES.get(code, code)},
            "helpUri": _help_uri(code), "help": {"text": f"see {DOCS}#{code.lower()}"}}
    fix = fix_text(code)
    if fix:
        rule["help"] = {"text": f"Fix: {fix} (see {DOCS}#{code.lower()})"}
    return rule


def render_sarif(results, strict=False) -> str:
    """SARIF 2.1.0: rules with helpUri, results with their related locations (the notes and
    the labelled spans), the safe fixes as replacements, and one invocation saying whether
    the check passed."""
    codes = sorted({d.code for r in results for d in r.diagnostics})
    index = {c: i for i, c in enumerate(codes)}
    out = []
    for r in results:
        for d in r.diagnostics:
            text = d.message + (f" (hint: {d.hint})" if d.hint else "")
            result = {"ruleId": d.code, "ruleIndex": index[d.code],
                      "level": "error" if _failing(d, strict) else "warning",
                      "message": {"text": text}, "locations": [_sarif_location(d.span, r.path)]}
            related = list(d.related) + list(d.labels)
            if related:
                result["relatedLocations"] = [_sarif_location(span, r.path, note, k)
                                              for k, (span, note) in enumerate(related)]
            edits = safe_edits(d, r.source)
            if edits:
                result["fixes"] = [{"description": {"text": e.title}, "artifactChanges": [
                    {"artifactLocation": {"uri": e.span.file},
                     "replacements": [{"deletedRegion": _region(e.span),
                                       "insertedContent": {"text": e.new_text}}]}]} for e in edits]
            out.append(result)
    failing = any(_failing(d, strict) for r in results for d in r.diagnostics)
    doc = {"$schema": SARIF_SCHEMA, "version": "2.1.0",
           "runs": [{"tool": {"driver": {"name": "kamrules", "version": __version__,
                                         "informationUri": _help_uri("KR001").split("#")[0],
                                         "rules": [_sarif_rule(c) for c in codes]}},
                     "invocations": [{"executionSuccessful": True, "exitCode": 1 if failing else 0}],
                     "results": out}]}
    return json_safe(json.dumps(doc, indent=2, ensure_ascii=False)) + "\n"
