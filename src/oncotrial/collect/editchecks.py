"""Edit checks: the protocol's rules run over a subject's casebook, each failure a :class:`Finding`."""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from typing import Any

from oncotrial.collect.expr import evaluate
from oncotrial.collect.recist_checks import recist_findings, recist_forms
from oncotrial.collect.records import Casebook, Finding
from oncotrial.collect.validate import edc_form, soft_errors
from oncotrial.protocol import Protocol
from oncotrial.protocol.expr import Node, parse


class _Memo:
    """One protocol's rules, parsed once, and the outcomes they already gave.

    A save changes one entry of a casebook, but the checks run over all of it: the outcome of a
    field rule depends only on its entry's values, and of an edit check on those and on the values of
    the forms it names (``FORM.FIELD``), so each is kept under exactly those inputs and reused. RECIST
    1.1 on the lesions (tens of milliseconds: a save of any other form would pay it again) is kept
    under a digest of the subject's lesion and response records.
    """

    LIMIT = 200_000

    def __init__(self, protocol: Protocol):
        self.protocol = protocol  # held, so the id this memo is filed under is never reused meanwhile
        self.checks: dict[str, list[tuple[Any, Node, tuple[str, ...]]]] = {}
        for c in protocol.edc.edit_checks:
            node = parse(c.expr)
            refs = tuple(sorted({f for f, _ in node.names() if f is not None}))
            self.checks.setdefault(c.form, []).append((c, node, refs))
        self.recist_forms = recist_forms(protocol)
        self.outcomes: dict[tuple, Any] = {}

    def remember(self, key: tuple, compute: Any) -> Any:
        if key in self.outcomes:
            return self.outcomes[key]
        if len(self.outcomes) >= self.LIMIT:
            self.outcomes.clear()
        value = self.outcomes[key] = compute()
        return value


_MEMOS: OrderedDict[int, _Memo] = OrderedDict()


def _memo(protocol: Protocol) -> _Memo:
    memo = _MEMOS.get(id(protocol))
    if memo is None or memo.protocol is not protocol:
        memo = _MEMOS[id(protocol)] = _Memo(protocol)
        while len(_MEMOS) > 8:
            _MEMOS.popitem(last=False)
    _MEMOS.move_to_end(id(protocol))
    return memo


def _canonical(values: Any) -> str:
    return json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)


def run_edit_checks(protocol: Protocol, casebook: Casebook) -> list[Finding]:
    """Every finding of one casebook: the fields' own rules (``REQUIRED``, ``RANGE``, for values saved
    with ``strict=False``) and the protocol's edit checks, in record order then check order, then
    RECIST 1.1 on the entered lesions (:func:`oncotrial.collect.recist_checks.recist_findings`).

    A check is evaluated once per record of its form; a value it needs that is missing (or a partial
    date) leaves it undecided, which is not a finding. Findings carry a stable ``key``.

    >>> from oncotrial.protocol import load_protocol
    >>> from oncotrial.collect.records import FormRecord
    >>> ae = FormRecord("S-1", "LOG", "AE", 1, {"AETERM": "Nausea", "AESTDTC": "2021-03-05", "AEENDTC": "2021-03-01",
    ...                 "AETOXGR": "1", "AESER": "N", "AEREL": "N", "AEACN": "DOSE NOT CHANGED", "AEOUT": "RECOVERED/RESOLVED"})
    >>> [f.key for f in run_edit_checks(load_protocol("patina"), Casebook("S-1", (ae,)))]
    ['AE_END_AFTER_START|S-1|LOG|AE|1|AEENDTC']
    """
    if protocol.edc is None:
        return []
    memo = _memo(protocol)
    by_form: dict[str, list] = {}
    for r in casebook.records:
        by_form.setdefault(r.form, []).append(dict(r.values))
    form_keys: dict[str, str] = {}

    def form_key(form: str) -> str:
        if form not in form_keys:
            # a digest, not the text: an outcome is kept per save and would hold a copy of the form's records
            form_keys[form] = hashlib.sha256(_canonical(by_form.get(form, [])).encode()).hexdigest()
        return form_keys[form]

    out: list[Finding] = []
    recist_input = hashlib.sha256(casebook.usubjid.encode())
    for r in casebook.records:
        edc_form(protocol, r.form)
        vkey = _canonical(dict(r.values))
        if r.form in memo.recist_forms:
            recist_input.update(_canonical([r.record_key, r.visitnum, r.version, vkey]).encode())
        errors = memo.remember(("field", r.form, r.version, vkey),
                               lambda r=r: tuple(soft_errors(protocol, r.form, r.version, r.values)))
        for e in errors:
            out.append(Finding(e.rule.upper(), r.usubjid, r.form, r.visit, r.record_key, e.field, e.message))
        for c, node, refs in memo.checks.get(r.form, ()):
            key = ("check", c.id, vkey, tuple(form_key(f) for f in refs))
            if memo.remember(key, lambda r=r, node=node: evaluate(node, r.values, casebook=by_form,
                                                                  protocol=protocol)) is False:
                out.append(Finding(c.id, r.usubjid, r.form, r.visit, r.record_key, c.field, c.message))
    recist = memo.remember(("recist", recist_input.digest()), lambda: tuple(recist_findings(protocol, casebook)))
    return out + list(recist)
