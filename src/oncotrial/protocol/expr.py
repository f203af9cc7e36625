"""The protocol's small expression language (show-conditions and edit checks), parsed without eval.

Grammar (lowest precedence first)::

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := sum (("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in") sum)?
    sum     := unary (("+" | "-") unary)*
    unary   := "-" unary | primary
    primary := NUMBER | STRING | "true" | "false" | "null" | NAME ["." NAME]
             | NAME "(" [expr ("," expr)*] ")" | "[" [expr ("," expr)*] "]" | "(" expr ")"

``FIELD`` names a field of the same form, ``FORM.FIELD`` a field of another form of
the subject's casebook. Functions: see :data:`FUNCTIONS`. This module only parses
and checks names; :mod:`oncotrial.collect.expr` evaluates.

>>> parse("empty(AEENDTC) or AEENDTC >= AESTDTC").names()
[(None, 'AEENDTC'), (None, 'AEENDTC'), (None, 'AESTDTC')]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FUNCTIONS: dict[str, tuple[int, int]] = {
    # name: (min args, max args)
    "empty": (1, 1),        # null, "" or an empty list
    "days": (2, 2),         # days(a, b): b - a in days (dates)
    "min": (1, 1),          # of a list (a cross-form field)
    "max": (1, 1),
    "count": (1, 1),        # non-empty values in a list
    "first": (1, 1),        # the first value of a list
    "dose_levels": (1, 1),  # the protocol's dose levels of a drug (by name, any case); null if none declared
}


class ExprError(ValueError):
    """An expression that does not parse; ``pos`` is the 0-based character offset."""

    def __init__(self, text: str, pos: int, message: str):
        self.text, self.pos = text, pos
        super().__init__(f"{message} at character {pos + 1} of {text!r}")


@dataclass(frozen=True)
class Node:
    """One node of a parsed expression: ``op`` and its ``args`` (nodes or, for leaves, the value)."""

    op: str   # "lit", "name", "list", "call", "and", "or", "not", "neg", "+", "-", "==", ..., "in", "not in"
    args: tuple

    def names(self) -> list[tuple[str | None, str]]:
        """Every field reference as (form or None, field), in order."""
        if self.op == "name":
            return [self.args]
        if self.op == "lit":
            return []
        out: list[tuple[str | None, str]] = []
        for a in self.args:
            if isinstance(a, Node):
                out.extend(a.names())
        return out


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<str>'[^']*'|"[^"]*")
  | (?P<op><=|>=|==|!=|<|>|\+|-|\(|\)|\[|\]|,|\.)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
""", re.VERBOSE)

_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ExprError(text, pos, f"unexpected character {text[pos]!r}")
        kind = m.lastgroup
        if kind != "ws":
            val = m.group()
            if kind == "name" and val in _KEYWORDS:
                kind = "kw"
            out.append((kind, val, pos))
        pos = m.end()
    out.append(("end", "", len(text)))
    return out


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self, k: int = 0) -> tuple[str, str, int]:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def take(self) -> tuple[str, str, int]:
        t = self.toks[self.i]
        self.i += 1
        return t

    def expect(self, val: str) -> None:
        kind, v, pos = self.take()
        if v != val or kind not in ("op", "kw"):
            raise ExprError(self.text, pos, f"expected {val!r}, got {v or 'end of expression'!r}")

    def fail(self, what: str):
        _, v, pos = self.peek()
        raise ExprError(self.text, pos, f"expected {what}, got {v or 'end of expression'!r}")

    def parse(self) -> Node:
        node = self.or_()
        if self.peek()[0] != "end":
            self.fail("an operator or the end")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.peek()[:2] == ("kw", "or"):
            self.take()
            node = Node("or", (node, self.and_()))
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.peek()[:2] == ("kw", "and"):
            self.take()
            node = Node("and", (node, self.not_()))
        return node

    def not_(self) -> Node:
        if self.peek()[:2] == ("kw", "not"):
            self.take()
            return Node("not", (self.not_(),))
        return self.compare()

    def compare(self) -> Node:
        left = self.sum_()
        kind, v, _ = self.peek()
        if kind == "op" and v in ("==", "!=", "<", "<=", ">", ">="):
            self.take()
            return Node(v, (left, self.sum_()))
        if (kind, v) == ("kw", "in"):
            self.take()
            return Node("in", (left, self.sum_()))
        if (kind, v) == ("kw", "not") and self.peek(1)[:2] == ("kw", "in"):
            self.take()
            self.take()
            return Node("not in", (left, self.sum_()))
        return left

    def sum_(self) -> Node:
        node = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            node = Node(op, (node, self.unary()))
        return node

    def unary(self) -> Node:
        if self.peek()[:2] == ("op", "-"):
            self.take()
            return Node("neg", (self.unary(),))
        return self.primary()

    def items(self, close: str) -> tuple[Node, ...]:
        out: list[Node] = []
        if self.peek()[:2] == ("op", close):
            self.take()
            return ()
        while True:
            out.append(self.or_())
            kind, v, pos = self.take()
            if v == close and kind == "op":
                return tuple(out)
            if v != ",":
                raise ExprError(self.text, pos, f"expected ',' or {close!r}, got {v or 'end of expression'!r}")

    def primary(self) -> Node:
        kind, v, pos = self.take()
        if kind == "num":
            return Node("lit", (float(v) if "." in v else int(v),))
        if kind == "str":
            return Node("lit", (v[1:-1],))
        if kind == "kw" and v in ("true", "false", "null"):
            return Node("lit", ({"true": True, "false": False, "null": None}[v],))
        if kind == "op" and v == "(":
            node = self.or_()
            self.expect(")")
            return node
        if kind == "op" and v == "[":
            return Node("list", self.items("]"))
        if kind == "name":
            if self.peek()[:2] == ("op", "("):
                self.take()
                if v not in FUNCTIONS:
                    raise ExprError(self.text, pos, f"unknown function {v!r} (known: {', '.join(FUNCTIONS)})")
                args = self.items(")")
                lo, hi = FUNCTIONS[v]
                if not lo <= len(args) <= hi:
                    raise ExprError(self.text, pos, f"{v}() takes {lo if lo == hi else f'{lo}-{hi}'} argument(s), got {len(args)}")
                return Node("call", (v, *args))
            if self.peek()[:2] == ("op", "."):
                self.take()
                k2, v2, p2 = self.take()
                if k2 != "name":
                    raise ExprError(self.text, p2, f"expected a field name after '{v}.'")
                return Node("name", (v, v2))
            return Node("name", (None, v))
        raise ExprError(self.text, pos, f"expected a value, a field or '(', got {v or 'end of expression'!r}")


def parse(text: str) -> Node:
    """Parse an expression; raises :class:`ExprError` naming the position of the problem.

    >>> parse("AETOXGR >= 3 and AESER == 'Y'").op
    'and'
    """
    if not isinstance(text, str) or not text.strip():
        raise ExprError(str(text), 0, "empty expression")
    return _Parser(text).parse()
