"""Evaluating the protocol's expressions (parsed by :mod:`oncotrial.protocol.expr`) on a record and its casebook.

Logic is three-valued: a comparison with a missing value is ``None`` (undecided), ``and``/``or``
follow SQL, and an edit check raises a finding only when its expression is ``False``. A field of
another form (``FORM.FIELD``) is the list of that field's values in the subject's casebook.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Mapping

from oncotrial.protocol import Protocol
from oncotrial.protocol.expr import ExprError, Node, parse

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")


def _as_time(v: Any) -> dt.date | dt.datetime | None:
    if isinstance(v, str):
        if _DATE.match(v):
            return dt.date.fromisoformat(v)
        if _DATETIME.match(v):
            return dt.datetime.fromisoformat(v)
    return None


def _comparable(a: Any, b: Any) -> tuple[Any, Any] | None:
    """Both sides in one type, or None when undecidable (missing, partial date, list)."""
    if a is None or b is None:
        return None
    if isinstance(a, list) or isinstance(b, list):
        raise TypeError("a list (a field of another form) must be reduced with first(), min(), max() or count()")
    if isinstance(a, str) and isinstance(b, str):
        ta, tb = _as_time(a), _as_time(b)
        if ta is not None and tb is not None:
            if isinstance(ta, dt.datetime) != isinstance(tb, dt.datetime):
                ta = ta.date() if isinstance(ta, dt.datetime) else ta
                tb = tb.date() if isinstance(tb, dt.datetime) else tb
            return ta, tb
        if (ta is None) != (tb is None) and (re.match(r"^\d{4}", a) and re.match(r"^\d{4}", b)):
            return None  # a partial date against a full one
        return a, b
    if isinstance(a, bool) or isinstance(b, bool):
        return (a, b) if isinstance(a, bool) and isinstance(b, bool) else None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a, b
    return str(a), str(b)


def _empty(v: Any) -> bool:
    return v is None or v == "" or (isinstance(v, list) and not v)


class _Eval:
    def __init__(self, values: Mapping[str, Any], cross: Mapping[str, list[Mapping[str, Any]]] | None,
                 protocol: Protocol | None):
        self.values, self.cross, self.protocol = values, cross or {}, protocol

    def run(self, n: Node) -> Any:
        op, a = n.op, n.args
        if op == "lit":
            return a[0]
        if op == "name":
            form, fld = a
            if form is None:
                return self.values.get(fld)
            return [r[fld] for r in self.cross.get(form, []) if not _empty(r.get(fld))]
        if op == "list":
            return [self.run(x) for x in a]
        if op == "and":
            l, r = self.run(a[0]), self.run(a[1])
            if l is False or r is False:
                return False
            return None if l is None or r is None else bool(l) and bool(r)
        if op == "or":
            l, r = self.run(a[0]), self.run(a[1])
            if l is True or r is True:
                return True
            return None if l is None or r is None else bool(l) or bool(r)
        if op == "not":
            v = self.run(a[0])
            return None if v is None else not v
        if op == "neg":
            v = self.run(a[0])
            return None if v is None else -v
        if op in ("+", "-"):
            l, r = self.run(a[0]), self.run(a[1])
            if l is None or r is None:
                return None
            return l + r if op == "+" else l - r
        if op in ("in", "not in"):
            l, r = self.run(a[0]), self.run(a[1])
            if l is None or r is None:
                return None
            hit = any(_comparable(l, x) is not None and (lambda p: p[0] == p[1])(_comparable(l, x)) for x in r)
            return hit if op == "in" else not hit
        if op in ("==", "!=", "<", "<=", ">", ">="):
            pair = _comparable(self.run(a[0]), self.run(a[1]))
            if pair is None:
                return None
            x, y = pair
            return {"==": x == y, "!=": x != y, "<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]
        if op == "call":
            return self.call(a[0], [self.run(x) for x in a[1:]])
        raise ExprError(str(n), 0, f"unknown operation {op!r}")

    def call(self, name: str, args: list[Any]) -> Any:
        x = args[0]
        if name == "empty":
            return _empty(x)
        if name == "count":
            return len(x) if isinstance(x, list) else int(not _empty(x))
        if name == "first":
            return (x[0] if x else None) if isinstance(x, list) else x
        if name in ("min", "max"):
            vals = x if isinstance(x, list) else [x]
            vals = [v for v in vals if v is not None]
            times = [_as_time(v) if isinstance(v, str) else v for v in vals]
            if not vals or any(t is None for t in times):
                return None
            i = times.index(min(times) if name == "min" else max(times))
            return vals[i]
        if name == "days":
            ta, tb = _as_time(args[0]), _as_time(args[1])
            if ta is None or tb is None:
                return None
            ta = ta.date() if isinstance(ta, dt.datetime) else ta
            tb = tb.date() if isinstance(tb, dt.datetime) else tb
            return (tb - ta).days
        if name == "dose_levels":
            if x is None or self.protocol is None:
                return None
            levels = sorted({lv for arm in self.protocol.arms for d in arm.regimen
                             if d.drug.lower() == str(x).lower() for lv in d.dose_levels}, reverse=True)
            return levels or None
        raise ExprError(name, 0, f"unknown function {name!r}")


def evaluate(expr: str | Node, values: Mapping[str, Any], *, casebook: Mapping[str, list[Mapping[str, Any]]] | None = None,
             protocol: Protocol | None = None) -> Any:
    """The value of an expression for one record's ``values``; ``casebook`` maps form ids to the subject's
    records' values (for ``FORM.FIELD``). None means undecided (a value is missing).

    >>> evaluate("empty(AEENDTC) or AEENDTC >= AESTDTC", {"AESTDTC": "2021-03-02", "AEENDTC": "2021-03-01"})
    False
    >>> evaluate("DTHDTC >= max(VISIT.SVSTDTC)", {"DTHDTC": "2021-05-01"},
    ...          casebook={"VISIT": [{"SVSTDTC": "2021-04-01"}, {"SVSTDTC": "2021-04-29"}]})
    True
    """
    node = parse(expr) if isinstance(expr, str) else expr
    try:
        return _Eval(values, casebook, protocol).run(node)
    except TypeError as exc:
        raise ExprError(expr if isinstance(expr, str) else str(node), 0, str(exc)) from None
