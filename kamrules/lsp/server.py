"""`kamrules lsp`: the Language Server over stdio, on pygls with lsprotocol's types.

Each open or changed document is analysed (analysis.py: parse, check, lint, as `kamrules
check` does) and its diagnostics published with their codes, ranges, a link to the code's
docs and the related places. Hover, go to definition, references, rename, document symbols,
formatting (the `fmt` layout), completion and code actions (the safe fixes of
diagnostics/fixes.py) answer from the last analysis of the document. With a data folder and
a payee configured (`kamrules.data`, `kamrules.payee`, `kamrules.period`: initializationOptions
or workspace/didChangeConfiguration), a hover on a component, let or param adds its values
for that payee (values.py, through the session, once per document version).

Positions: spans are 1-based in characters; LSP counts lines from 0 and columns in UTF-16
code units (`_to_lsp` / `_from_lsp` convert on the line's text).
"""
from __future__ import annotations

from urllib.parse import unquote, urlparse

from lsprotocol import types as T
from pygls.lsp.server import LanguageServer

from kamrules.diagnostics.fixes import safe_edits
from kamrules.diagnostics.rules import docs_url
from kamrules.diagnostics.source import Span
from kamrules.lsp import analysis as A
from kamrules.lsp import values as V
from kamrules.version import __version__

_KINDS = {"param": T.SymbolKind.Constant, "let": T.SymbolKind.Variable, "component": T.SymbolKind.Field,
          "curve": T.SymbolKind.Function, "table": T.SymbolKind.Function, "input": T.SymbolKind.Struct,
          "column": T.SymbolKind.Property}
_COMPLETION = {"param": T.CompletionItemKind.Constant, "let": T.CompletionItemKind.Variable,
               "component": T.CompletionItemKind.Field, "curve": T.CompletionItemKind.Function,
               "table": T.CompletionItemKind.Function, "input": T.CompletionItemKind.Struct,
               "column": T.CompletionItemKind.Property, "builtin": T.CompletionItemKind.Function,
               "variable": T.CompletionItemKind.Variable, "keyword": T.CompletionItemKind.Keyword}


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _to_lsp(an: A.Analysis, line: int, column: int) -> T.Position:
    text = an.source.line_text(line)
    return T.Position(max(0, line - 1), _utf16(text[:max(0, column - 1)]))


def _range(an: A.Analysis, span: Span) -> T.Range:
    if span.line <= 0:
        return T.Range(T.Position(0, 0), T.Position(0, 0))
    return T.Range(_to_lsp(an, span.line, span.column), _to_lsp(an, span.end_line, span.end_column))


def _from_lsp(an: A.Analysis, pos: T.Position) -> tuple[int, int]:
    text, units, col = an.source.line_text(pos.line + 1), 0, 0
    while col < len(text) and units < pos.character:
        units += _utf16(text[col])
        col += 1
    return pos.line + 1, col + 1


def path_of(uri: str) -> str:
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else uri


class KamServer(LanguageServer):
    def __init__(self, config_for=None):
        super().__init__("kamrules", __version__)
        self.config_for = config_for or (lambda path: (None, ()))
        self.analyses: dict[str, A.Analysis] = {}
        self.value_settings = V.ValueSettings()
        self.values = V.ValueCache()
        self.root: str | None = None  # the workspace folder: relative `kamrules.data` starts there

    def value_hover(self, uri: str, an: A.Analysis, sym) -> str | None:
        """The values of definition `sym` for the configured payee (None when not configured)."""
        settings = self.value_settings
        if sym is None or not settings.active or sym.kind not in ("component", "let", "param"):
            return None
        version = self.workspace.get_text_document(uri).version
        values = self.values.get(uri, version, an.checked, path_of(uri), settings, self.root)
        return V.hover_lines(values, sym.name, sym.kind, settings)

    def analyse(self, uri: str) -> A.Analysis:
        doc = self.workspace.get_text_document(uri)
        path = path_of(uri)
        an = A.analyse(doc.source, path, self.analyses.get(uri), self.config_for(path))
        self.analyses[uri] = an
        return an

    def lsp_diagnostic(self, an: A.Analysis, d, uri: str) -> T.Diagnostic:
        related = [T.DiagnosticRelatedInformation(T.Location(uri, _range(an, span)), note)
                   for span, note in list(d.related) + list(d.labels) if span.file == an.source.path]
        message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
        return T.Diagnostic(
            range=_range(an, d.span) if d.span is not None else T.Range(T.Position(0, 0), T.Position(0, 0)),
            message=message, code=d.code, source="kamrules",
            severity=T.DiagnosticSeverity.Error if d.is_error else T.DiagnosticSeverity.Warning,
            code_description=T.CodeDescription(href=docs_url(d.code)),
            related_information=related or None)

    def publish(self, uri: str) -> None:
        an = self.analyse(uri)
        diags = [self.lsp_diagnostic(an, d, uri) for d in an.diagnostics
                 if d.span is None or d.span.file == an.source.path]
        self.text_document_publish_diagnostics(T.PublishDiagnosticsParams(uri=uri, diagnostics=diags))

    def current(self, uri: str) -> A.Analysis:
        return self.analyses.get(uri) or self.analyse(uri)


def build_server(config_for=None) -> KamServer:
    server = KamServer(config_for)

    @server.feature(T.INITIALIZE)
    def initialize(ls: KamServer, params: T.InitializeParams):
        ls.value_settings = V.settings_from(params.initialization_options)
        folders = params.workspace_folders or []
        root = folders[0].uri if folders else params.root_uri
        ls.root = path_of(root) if root else params.root_path

    @server.feature(T.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(ls: KamServer, params: T.DidChangeConfigurationParams):
        ls.value_settings = V.settings_from(params.settings, ls.value_settings)

    @server.feature(T.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: KamServer, params: T.DidOpenTextDocumentParams):
        ls.publish(params.text_document.uri)

    @server.feature(T.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: KamServer, params: T.DidChangeTextDocumentParams):
        ls.publish(params.text_document.uri)

    @server.feature(T.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: KamServer, params: T.DidSaveTextDocumentParams):
        ls.publish(params.text_document.uri)

    @server.feature(T.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: KamServer, params: T.DidCloseTextDocumentParams):
        ls.analyses.pop(params.text_document.uri, None)
        ls.values.drop(params.text_document.uri)
        ls.text_document_publish_diagnostics(T.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))

    @server.feature(T.TEXT_DOCUMENT_HOVER)
    def hover(ls: KamServer, params: T.HoverParams):
        an = ls.current(params.text_document.uri)
        where = _from_lsp(an, params.position)
        text = A.hover(an, *where)
        if text is None:
            return None
        extra = ls.value_hover(params.text_document.uri, an, A.target_at(an, *where))
        if extra:
            text = f"{text}\n\n{extra}"
        return T.Hover(contents=T.MarkupContent(kind=T.MarkupKind.Markdown, value=text))

    @server.feature(T.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: KamServer, params: T.DefinitionParams):
        an = ls.current(params.text_document.uri)
        span = A.definition(an, *_from_lsp(an, params.position))
        return None if span is None else T.Location(params.text_document.uri, _range(an, span))

    @server.feature(T.TEXT_DOCUMENT_REFERENCES)
    def references(ls: KamServer, params: T.ReferenceParams):
        an = ls.current(params.text_document.uri)
        spans = A.references(an, *_from_lsp(an, params.position), params.context.include_declaration)
        return [T.Location(params.text_document.uri, _range(an, s)) for s in spans]

    @server.feature(T.TEXT_DOCUMENT_RENAME)
    def rename(ls: KamServer, params: T.RenameParams):
        an = ls.current(params.text_document.uri)
        edits = A.rename(an, *_from_lsp(an, params.position), params.new_name)
        if edits is None:
            return None
        return T.WorkspaceEdit(changes={params.text_document.uri: [
            T.TextEdit(_range(an, span), new) for span, new in edits]})

    @server.feature(T.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def document_symbols(ls: KamServer, params: T.DocumentSymbolParams):
        an = ls.current(params.text_document.uri)
        out = []
        for s in A.symbols(an):
            children = [T.DocumentSymbol(name=c.name, kind=_KINDS["column"], range=_range(an, c.span),
                                         selection_range=_range(an, c.name_span), detail=c.detail)
                        for c in an.symbols if c.kind == "column" and c.container == s.name and s.kind == "input"]
            out.append(T.DocumentSymbol(name=s.name, kind=_KINDS[s.kind], range=_range(an, s.span),
                                        selection_range=_range(an, s.name_span),
                                        detail=f"{s.kind} {s.detail}".strip(), children=children or None))
        return out

    @server.feature(T.TEXT_DOCUMENT_FORMATTING)
    def formatting(ls: KamServer, params: T.DocumentFormattingParams):
        doc = ls.workspace.get_text_document(params.text_document.uri)
        new = A.formatted(doc.source, path_of(params.text_document.uri))
        if new is None or new == doc.source:
            return []
        lines = doc.source.split("\n")
        end = T.Position(len(lines) - 1, _utf16(lines[-1]))
        return [T.TextEdit(T.Range(T.Position(0, 0), end), new)]

    @server.feature(T.TEXT_DOCUMENT_COMPLETION, T.CompletionOptions(trigger_characters=["."]))
    def completion(ls: KamServer, params: T.CompletionParams):
        doc = ls.workspace.get_text_document(params.text_document.uri)
        an = ls.current(params.text_document.uri)
        typed = A.Analysis(A.SourceFile(an.source.path, doc.source), [], an.symbols, an.references,
                           an.payee_columns)  # the text as typed, the names of the last analysis
        items = [T.CompletionItem(label=label, kind=_COMPLETION.get(kind), detail=detail or None)
                 for label, kind, detail in A.completions(typed, *_from_lsp(typed, params.position))]
        return T.CompletionList(is_incomplete=False, items=items)

    @server.feature(T.TEXT_DOCUMENT_CODE_ACTION,
                    T.CodeActionOptions(code_action_kinds=[T.CodeActionKind.QuickFix]))
    def code_actions(ls: KamServer, params: T.CodeActionParams):
        an = ls.current(params.text_document.uri)
        uri, out = params.text_document.uri, []
        for d in an.diagnostics:
            for e in safe_edits(d, an.source):
                r = _range(an, d.span)
                if r.end.line < params.range.start.line or r.start.line > params.range.end.line:
                    continue
                out.append(T.CodeAction(title=e.title, kind=T.CodeActionKind.QuickFix, is_preferred=True,
                                        diagnostics=[ls.lsp_diagnostic(an, d, uri)],
                                        edit=T.WorkspaceEdit(changes={uri: [T.TextEdit(_range(an, e.span), e.new_text)]})))
        return out

    return server
