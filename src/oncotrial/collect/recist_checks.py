"""RECIST 1.1 on the lesions as entered: baseline selection and the site's overall response checked
against :mod:`oncotrial.recist`, each problem a :class:`Finding` (a query) like any edit check."""

from __future__ import annotations

from oncotrial.collect.records import Casebook, Finding
from oncotrial.collect.schedule import visit_number
from oncotrial.collect.to_sdtm import casebooks_to_sdtm
from oncotrial.protocol import Protocol
from oncotrial.recist import check_baseline, lesion_data, overall_response

BASELINE_CHECK = "RECIST_BASELINE"
RESPONSE_CHECK = "RECIST_RESPONSE"
LESIONS_CHECK = "RECIST_LESIONS"


def _response_field(protocol: Protocol) -> dict[str, str]:
    """form id -> its field that records the overall response (testcd OVRLRESP feeding RS)."""
    out = {}
    for f in protocol.edc.forms:
        for fld in f.fields:
            if fld.testcd == "OVRLRESP" and any(t.startswith("RS.") for t in fld.sdtm):
                out[f.id] = fld.id
    return out


def _lesion_forms(protocol: Protocol) -> set[str]:
    return {f.id for f in protocol.edc.forms
            if any(t.partition(".")[0] in ("TU", "TR") for fld in f.fields for t in fld.sdtm)}


def recist_forms(protocol: Protocol) -> frozenset[str]:
    """The forms :func:`recist_findings` reads: the lesion forms and those recording an overall
    response. A casebook whose records of these forms are unchanged has the same RECIST findings.

    >>> from oncotrial.protocol import load_protocol
    >>> sorted(recist_forms(load_protocol("patina")))
    ['NEWLES', 'NTL_BASE', 'NTL_FU', 'TA', 'TL_BASE', 'TL_FU']
    """
    if protocol.edc is None:
        return frozenset()
    return frozenset(_lesion_forms(protocol) | set(_response_field(protocol)))


def recist_findings(protocol: Protocol, casebook: Casebook) -> list[Finding]:
    """Baseline selection problems (too many targets, too small, not measured) on the baseline lesion
    record they concern, and each recorded overall response that differs from the one RECIST 1.1
    gives from the entered lesions, on that response's record.

    Lesions RECIST cannot read (a follow-up lesion with no baseline record) give one finding saying
    why. Nothing is reported for a casebook without lesions; a visit whose lesions give no response yet
    (e.g. not all targets entered) gives NE, and a recorded response that differs is reported.
    """
    if protocol.edc is None:
        return []
    lesion_forms = _lesion_forms(protocol)
    lesions = tuple(r for r in casebook.records if r.form in lesion_forms)
    if not lesions:
        return []
    sdtm = casebooks_to_sdtm(protocol, [Casebook(casebook.usubjid, lesions)])
    if "TU" not in sdtm or "TR" not in sdtm:
        return []
    out: list[Finding] = []
    try:
        data = lesion_data(sdtm["TU"], sdtm["TR"])
    except ValueError as exc:
        # e.g. a follow-up lesion never identified at baseline: no response until it is resolved
        return [Finding(LESIONS_CHECK, casebook.usubjid, lesions[0].form, lesions[0].visit, lesions[0].record_key,
                        "LINKID", f"RECIST 1.1 cannot be computed from the lesions entered: {exc}")]
    by_lesion = {r.key: r for r in lesions if r.key}
    baseline = check_baseline(data)
    for b in baseline:
        rec = by_lesion.get(b.TULNKID, lesions[0])
        out.append(Finding(BASELINE_CHECK, casebook.usubjid, rec.form, rec.visit, rec.record_key, "LINKID",
                           f"{b.TULNKID}: {b.message}"))
    if baseline:
        return out  # responses from a wrong baseline would be wrong too
    visits = overall_response(data, check=False).visits
    computed = {float(v): str(r) for v, r in zip(visits.VISITNUM, visits.OVRLRESP)}
    fields = _response_field(protocol)
    for r in casebook.records:
        fld = fields.get(r.form)
        if fld is None or fld not in r.values:
            continue
        num = r.visitnum if r.visitnum is not None else visit_number(protocol, r.visit)
        engine = computed.get(float(num)) if num is not None else None
        if engine is not None and engine != r.values[fld]:
            out.append(Finding(RESPONSE_CHECK, casebook.usubjid, r.form, r.visit, r.record_key, fld,
                               f"recorded {r.values[fld]}, but RECIST 1.1 gives {engine} from the lesions entered"))
    return out
