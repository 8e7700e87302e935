"""The fast LALR driver: Lark's parse table and contextual lexer run in one loop that builds the AST.

`Driver(parser, builders)` parses a valid plan within the limits about 5 times faster than
Lark's tree + Transformer; on anything else it raises `NotPlain` and the parser's reference
path (Lark's own loop, which words the errors) takes over. `Unsupported`: the grammar uses a
Lark feature the driver does not reproduce.
"""
from __future__ import annotations

import re

import lark

from kamrules.core import limits
from kamrules.diagnostics.source import Span
from kamrules.syntax import ast

# ---------------------------------------------------------------- the fast LALR driver
# Lark's own loop builds a Tree per rule, walks every `?rule` reduction through three
# wrappers, computes positions on each tree and then transforms the whole tree again: most
# of a parse. `Driver` runs the same LALR tables and the same contextual lexer regexes in
# one tight loop, calls the builders as rules are reduced, and computes each node's span the
# way `propagate_positions` does (first positioned child's start, last one's end, tokens and
# nodes of rules inlined into their parent included). Same tables and regexes: same language,
# same trees; anything else than a valid plan within the limits is left to `_reference_parse`.

class Unsupported(Exception):
    """The grammar uses a Lark feature the driver does not reproduce: use Lark's loop."""


class NotPlain(Exception):
    """The text is not a valid plan within the limits (the reference path says why)."""


def _child_filter(rule):
    """Lark's ChildFilter for `rule` (maybe_placeholders on): ((index, splice, nones_before),
    ...) and the Nones after, or (None, 0) when the children pass as they are."""
    expansion = rule.expansion
    empty = rule.options.empty_indices
    if empty:
        counts = [len(ones) for ones in "".join(str(int(b)) for b in empty).split("0")]
    else:
        counts = [0] * (len(expansion) + 1)
    include, nones = [], 0
    for i, sym in enumerate(expansion):
        nones += counts[i]
        if not rule.options.keep_all_tokens and sym.is_term and sym.filter_out:
            raise Unsupported(f"filtered token in {rule}")
        include.append((i, not sym.is_term and sym.name.startswith("_"), nones))
        nones = 0
    nones += counts[len(expansion)]
    if not empty and not any(splice for _, splice, _ in include):
        return None, 0
    return tuple(include), nones


def _nullable(rules) -> set:
    """Names of the rules that can derive the empty text (their nodes may have no position)."""
    found: set = set()
    changed = True
    while changed:
        changed = False
        for rule in rules:
            name = rule.origin.name
            if name not in found and all(not s.is_term and s.name in found for s in rule.expansion):
                found.add(name)
                changed = True
    return found


class Driver:
    """An LALR(1) loop over Lark's parse table and contextual lexer that builds the AST.

    Stacks: LALR states, values (tokens as str, AST nodes, lists of children of inlined
    `_rules`) and metas, (line, column, end_line, end_column, height) of each value, line None
    for a node without position, height the parse-tree height `limits.tree_too_deep` bounds."""

    def __init__(self, parser: lark.Lark, builders: dict):
        from lark.lexer import ContextualLexer, UnlessCallback
        from lark.parsers.lalr_analysis import Shift
        if parser.options.postlex is not None or parser.options.lexer_callbacks:
            raise Unsupported("postlex or lexer callbacks")
        frontend = parser.parser
        table = frontend.parser.parser.parse_table
        self._lexer = frontend.lexer
        if not isinstance(self._lexer, ContextualLexer):
            raise Unsupported("not the contextual lexer")
        self.builders = builders
        self._unless = UnlessCallback
        self._skip = self._ignored_prefix(parser)
        self.start_state = table.start_states["start"]
        self.end_state = table.end_states["start"]
        self.actions: dict = {}   # state -> {terminal: new state (shift) or ~rule (reduce)}
        self.gotos: dict = {}     # state -> {rule name: new state}
        reduced: dict = {}        # lark Rule -> index
        for state, row in table.states.items():
            acts, gos = {}, {}
            for sym, (action, arg) in row.items():
                if action is Shift:
                    (acts if sym.isupper() else gos)[sym] = arg
                else:
                    acts[sym] = ~reduced.setdefault(arg, len(reduced))
            self.actions[state], self.gotos[state] = acts, gos
        nullable = _nullable(reduced)
        # rules[i] = (origin, reducer), reducer None for `?rule: child` (the child stands for it)
        self.rules: list = [None] * len(reduced)
        for rule, i in reduced.items():
            self.rules[i] = (rule.origin.name, self._reducer(rule, nullable))
        self._lexers: dict = {}   # state -> (skip+match, match, retype, ignore, newline types)
        self._by_basic: dict = {}
        self._chains: dict = {}   # (state below, top state, terminal) -> top after `?rule`s

    def _chain(self, below, top, kind: str):
        """The top state after every pass-through reduction `kind` calls for on (below, top):
        they only replace the top state, so the run depends on these three alone."""
        start = top
        while True:
            act = self.actions[top].get(kind)
            if act is None or act >= 0 or self.rules[~act][1] is not None:
                break
            top = self.gotos[below][self.rules[~act][0]]
        self._chains[(below, start, kind)] = top
        return top

    @staticmethod
    def _ignored_prefix(parser: lark.Lark) -> str:
        """A regex prefix that skips ignored text (blanks, comments) before a token.

        Equivalent to Lark's one-ignored-token-at-a-time loop only if no other terminal can
        start where an ignored one does: checked here on the first characters they match
        (Latin-1; the tests compare the driver with Lark on every plan of the repository)."""
        import re as re_
        terms = {t.name: t.pattern.to_regexp() for t in parser.terminals}
        ignored = [terms[name] for name in parser.lexer_conf.ignore]
        starts = [ch for ch in map(chr, range(0x100))  # Latin-1: blanks and `#` here
                  if any(re_.match(rx, ch) for rx in ignored)]
        for name, rx in terms.items():
            if name in parser.lexer_conf.ignore:
                continue
            for ch in starts:
                for rest in ("", "a", "A", "1", " ", "\n", '"', "#", "-", ch * 3):
                    if re_.match(rx, ch + rest):
                        raise Unsupported(f"{name} can start with the ignored {ch!r}")
        return "(?:" + "|".join(ignored) + ")*" if ignored else ""

    def _reducer(self, rule, nullable: set):
        """The function that reduces `rule` on the stacks (Lark's child filter, `?rule`
        inlining, propagate_positions and tree height, in one step), or None for a pass-through."""
        origin = rule.origin.name
        size = len(rule.expansion)
        include, nones = _child_filter(rule)
        name = rule.alias or rule.options.template_source or origin
        if rule.options.expand1 and not rule.alias:
            if include is None and size == 1:
                return None
            count = size if include is None else len(include) + sum(n for *_, n in include) + nones
            if include is not None and any(splice for _, splice, _ in include) or count == 1:
                raise Unsupported(f"`?` rule that may keep a single child: {rule}")
        splice = origin.startswith("_")
        build = None if splice else self.builders.get(name)
        if build is None and not splice:
            raise Unsupported(f"no builder for {name}")
        gotos = self.gotos
        rules_below = [i for i, s in enumerate(rule.expansion) if not s.is_term]
        if size == 1 and include is None and rule.expansion[0].is_term:
            def leaf(path, states, values, metas):  # a node of one token: number, name, ...
                m = metas[-1]
                values[-1] = build(Span(path, m[0], m[1], m[2], m[3]), [values[-1]])
                metas[-1] = (m[0], m[1], m[2], m[3], 0)
                states[-1] = gotos[states[-2]][origin]
            return leaf
        if size and not any(s.name in nullable for s in rule.expansion if not s.is_term):
            def node(path, states, values, metas):  # first and last child have positions
                kids, kid_metas = values[-size:], metas[-size:]
                del values[-size:], metas[-size:], states[-size:]
                first, last = kid_metas[0], kid_metas[-1]
                height = max([kid_metas[i][4] for i in rules_below], default=-1)
                if include is not None:
                    kids = _filtered(kids, include, nones)
                if splice:
                    values.append(kids)
                    metas.append((first[0], first[1], last[2], last[3], height))
                else:
                    values.append(build(Span(path, first[0], first[1], last[2], last[3]), kids))
                    metas.append((first[0], first[1], last[2], last[3], height + 1))
                states.append(gotos[states[-1]][origin])
            return node

        def general(path, states, values, metas):
            if size:
                kids, kid_metas = values[-size:], metas[-size:]
                del values[-size:], metas[-size:], states[-size:]
            else:
                kids, kid_metas = [], []
            placed = [m for m in kid_metas if m[0] is not None]
            height = max([m[4] for m in kid_metas], default=-1)
            if include is not None:
                kids = _filtered(kids, include, nones)
            if placed:
                where = (placed[0][0], placed[0][1], placed[-1][2], placed[-1][3])
            else:
                where = (None, None, None, None)
            if splice:
                values.append(kids)
            else:
                height += 1
                values.append(build(Span(path, *where) if placed else Span(path, 0, 0, 0, 0), kids))
            metas.append(where + (height,))
            states.append(gotos[states[-1]][origin])
        return general

    def _lexer_for(self, state) -> tuple:
        basic = self._lexer.lexers[state]
        info = self._by_basic.get(id(basic))
        if info is None:
            scanner = basic.scanner
            if len(scanner._mres) != 1:
                raise Unsupported("more than one regex per lexer state")
            retype = {}
            for type_, callback in basic.callback.items():
                if not isinstance(callback, self._unless):
                    raise Unsupported(f"lexer callback on {type_}")
                words: dict = {}
                for term in callback.scanner.terminals:
                    if term.pattern.type != "str" or term.pattern.flags:
                        raise Unsupported(f"keyword {term.name} is not a plain string")
                    words.setdefault(term.pattern.value, term.name)
                retype[type_] = words
            plain = scanner._mres[0]
            skipping = re.compile(self._skip + "(?:" + plain.pattern + ")", plain.flags)
            info = (skipping.match, plain.match, retype, basic.ignore_types, basic.newline_types)
            self._by_basic[id(basic)] = info
        self._lexers[state] = info
        return info

    def parse(self, text: str, path: str) -> ast.Plan:
        actions, gotos, rules, lexers = self.actions, self.gotos, self.rules, self._lexers
        chains = self._chains
        states, values, metas = [self.start_state], [], []
        pos, line, line_start, end_of_text = 0, 1, 0, len(text)
        while pos < end_of_text:
            skip_match, match, retype, ignore, newline_types = \
                lexers.get(states[-1]) or self._lexer_for(states[-1])
            m = skip_match(text, pos)  # blanks and comments, then a token
            if m is not None and m.lastgroup not in ignore:
                kind = m.lastgroup
                start = m.start(kind)
                if start > pos:
                    newlines = text.count("\n", pos, start)
                    if newlines:
                        line += newlines
                        line_start = text.rfind("\n", pos, start) + 1
                value = m.group(kind)
            else:  # blanks at the end, or no token: one step of Lark's loop
                m = match(text, pos)
                if m is None:
                    raise NotPlain("unexpected character")
                kind, value, start = m.lastgroup, m.group(), pos
            end = m.end()
            first_line, column = line, start - line_start + 1
            if kind in newline_types:
                newlines = value.count("\n")
                if newlines:
                    line += newlines
                    line_start = start + value.rindex("\n") + 1
            pos = end
            if kind in ignore:
                continue
            if kind in retype:
                kind = retype[kind].get(value, kind)
            meta = (first_line, column, line, end - line_start + 1, -1)
            while True:  # reduce as long as the table says, then shift the token
                act = actions[states[-1]].get(kind)
                if act is None:
                    raise NotPlain("unexpected token")
                if act >= 0:
                    states.append(act)
                    values.append(value)
                    metas.append(meta)
                    break
                origin, reducer = rules[~act]
                if reducer is not None:
                    reducer(path, states, values, metas)
                else:  # a run of `?rule: child` reductions, replayed from memory
                    below, top = states[-2], states[-1]
                    states[-1] = chains.get((below, top, kind)) or self._chain(below, top, kind)
        while True:
            act = actions[states[-1]].get("$END")
            if act is None or act >= 0:
                raise NotPlain("unexpected end of file")
            origin, reducer = rules[~act]
            if reducer is None:
                states[-1] = gotos[states[-2]][origin]
            else:
                reducer(path, states, values, metas)
            if states[-1] == self.end_state:
                break
        if metas[-1][4] > limits.MAX_NESTING * 3:  # what limits.tree_too_deep refuses
            raise NotPlain("nested too deep")
        return values[-1]


def _filtered(kids: list, include: tuple, nones: int) -> list:
    """Lark's ChildFilter: children of inlined `_rules` spliced in, None for absent `[...]`."""
    children = []
    for i, splice, before in include:
        if before:
            children.extend([None] * before)
        if splice:
            children.extend(kids[i])
        else:
            children.append(kids[i])
    if nones:
        children.extend([None] * nones)
    return children
