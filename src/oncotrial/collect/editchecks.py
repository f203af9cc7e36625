"""Edit checks: the protocol's rules run over a subject's casebook, each failure a :class:`Finding`."""

from __future__ import annotations

from oncotrial.collect.expr import evaluate
from oncotrial.collect.recist_checks import recist_findings
from oncotrial.collect.records import Casebook, Finding
from oncotrial.collect.validate import edc_form, soft_errors
from oncotrial.protocol import Protocol
from oncotrial.protocol.expr import parse


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
    by_form: dict[str, list] = {}
    for r in casebook.records:
        by_form.setdefault(r.form, []).append(dict(r.values))
    checks = [(c, parse(c.expr)) for c in protocol.edc.edit_checks]
    out: list[Finding] = []
    for r in casebook.records:
        edc_form(protocol, r.form)
        for e in soft_errors(protocol, r.form, r.version, r.values):
            out.append(Finding(e.rule.upper(), r.usubjid, r.form, r.visit, r.record_key, e.field, e.message))
        for c, node in checks:
            if c.form != r.form:
                continue
            if evaluate(node, r.values, casebook=by_form, protocol=protocol) is False:
                out.append(Finding(c.id, r.usubjid, r.form, r.visit, r.record_key, c.field, c.message))
    return out + recist_findings(protocol, casebook)
