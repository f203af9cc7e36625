"""Server-side validation of one form's values against its protocol definition."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any, Mapping

from oncotrial.collect.expr import evaluate
from oncotrial.collect.records import FieldError, FormValidationError
from oncotrial.protocol import Protocol
from oncotrial.protocol.edc import Form, FormField

_PARTIAL = re.compile(r"^\d{4}(-\d{2})?$")
HARD_RULES = ("type", "codelist", "hidden", "unknown", "version")
"""Rules a save can never break; ``required`` and ``range`` may be let through (``strict=False``) to
become queries of :func:`oncotrial.collect.run_edit_checks`."""


def edc_form(protocol: Protocol, form_id: str) -> Form:
    if protocol.edc is None:
        raise KeyError(f"protocol {protocol.study.id} has no [edc] block")
    return protocol.edc.form(form_id)


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, float) and math.isnan(v))


def _typed(protocol: Protocol, form: Form, f: FormField, v: Any) -> tuple[Any, FieldError | None]:
    def bad(msg: str) -> tuple[None, FieldError]:
        return None, FieldError(form.id, f.id, "type", msg)

    t = f.type
    if t in ("text", "code"):
        if not isinstance(v, (str, int, float)) or isinstance(v, bool):
            return bad(f"expected text, got {v!r}")
        s = str(v).strip() if isinstance(v, str) else (f"{v:g}" if isinstance(v, float) else str(v))
        if t == "code":
            codes = [c.code for c in protocol.codelist(f.codelist).codes]
            if s not in codes:
                return None, FieldError(form.id, f.id, "codelist", f"{s!r} is not in code list {f.codelist} ({', '.join(codes)})")
        return s, None
    if t == "integer":
        if isinstance(v, bool):
            return bad(f"expected a whole number, got {v!r}")
        if isinstance(v, int):
            return v, None
        if isinstance(v, float) and v.is_integer():
            return int(v), None
        if isinstance(v, str) and re.fullmatch(r"\s*[+-]?\d+\s*", v):
            return int(v), None
        return bad(f"expected a whole number, got {v!r}")
    if t == "decimal":
        if isinstance(v, bool):
            return bad(f"expected a number, got {v!r}")
        try:
            x = float(v.strip()) if isinstance(v, str) else float(v)
        except (TypeError, ValueError):
            return bad(f"expected a number, got {v!r}")
        if not math.isfinite(x):
            return bad(f"expected a finite number, got {v!r}")
        return x, None
    if t == "boolean":
        if isinstance(v, bool):
            return v, None
        if isinstance(v, str) and v.strip().lower() in ("true", "false", "y", "n", "yes", "no", "1", "0"):
            return v.strip().lower() in ("true", "y", "yes", "1"), None
        return bad(f"expected true or false, got {v!r}")
    if t == "date":
        if isinstance(v, dt.datetime):
            return bad(f"expected a date, got a date-time {v!r}")
        if isinstance(v, dt.date):
            return v.isoformat(), None
        if isinstance(v, str):
            s = v.strip()
            try:
                if len(s) == 10:
                    return dt.date.fromisoformat(s).isoformat(), None
            except ValueError:
                return bad(f"{s!r} is not a calendar date (YYYY-MM-DD)")
            if f.partial_dates and _PARTIAL.match(s) and (len(s) == 4 or 1 <= int(s[5:7]) <= 12):
                return s, None
        return bad(f"expected a date YYYY-MM-DD{' (or YYYY-MM, YYYY)' if f.partial_dates else ''}, got {v!r}")
    if t == "datetime":
        if isinstance(v, dt.datetime):
            return v.isoformat(timespec="minutes" if v.second == 0 and not v.microsecond else "seconds"), None
        if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?", v.strip()):
            try:
                dt.datetime.fromisoformat(v.strip())
                return v.strip(), None
            except ValueError:
                pass
        return bad(f"expected a date-time YYYY-MM-DDThh:mm, got {v!r}")
    raise AssertionError(t)


def validate_form(protocol: Protocol, form_id: str, version: int, raw_values: Mapping[str, Any], *,
                  strict: bool = True) -> dict[str, Any]:
    """The typed values of one form entry, or :class:`FormValidationError` listing every broken rule.

    Rules: every value parses as its field's type (``type``) and, for a code, is in its code list
    (``codelist``); a field the version does not have is refused (``unknown``); a field hidden by its
    show-condition must be empty (``hidden``); a shown required field must have a value (``required``);
    a field whose show-condition is undecided (its inputs missing or refused) is neither hidden nor required;
    numbers lie within min/max (``range``). With ``strict=False`` the ``required`` and ``range`` rules do
    not refuse the save: :func:`run_edit_checks` reports them as findings (queries) instead. Empty values
    ("" or None) are dropped from the result.

    >>> from oncotrial.protocol import load_protocol
    >>> p = load_protocol("patina")
    >>> validate_form(p, "TL_FU", 1, {"LINKID": "T01", "TRDTC": "2021-03-04", "LDIAM": "12.5"})
    {'LINKID': 'T01', 'TRDTC': '2021-03-04', 'LDIAM': 12.5}
    >>> try:
    ...     validate_form(p, "TL_FU", 1, {"LINKID": "T01", "TRDTC": "2021-02-30", "LDIAM": -1})
    ... except FormValidationError as e:
    ...     [(x.field, x.rule) for x in e.errors]
    [('TRDTC', 'type'), ('LDIAM', 'range')]
    """
    form = edc_form(protocol, form_id)
    try:
        fields = form.fields_of(version)
    except KeyError as exc:
        raise FormValidationError([FieldError(form.id, "", "version", str(exc.args[0]))]) from None
    if not isinstance(raw_values, Mapping):
        raise FormValidationError([FieldError(form.id, "", "type", f"values must be a mapping, got {type(raw_values).__name__}")])
    known = {f.id for f in fields}
    errors: list[FieldError] = []
    for k in raw_values:
        if k not in known:
            other = [f.id for f in form.fields]
            why = (f"is not in version {version} of the form" if k in other else "is not a field of the form")
            errors.append(FieldError(form.id, str(k), "unknown", f"{k!r} {why} (fields: {', '.join(f.id for f in fields)})"))
    typed: dict[str, Any] = {}
    for f in fields:
        v = raw_values.get(f.id)
        if _missing(v):
            continue
        val, err = _typed(protocol, form, f, v)
        if err is not None:
            errors.append(err)
        else:
            typed[f.id] = val
    for f in fields:
        shown = True if not f.show_if else evaluate(f.show_if, typed, protocol=protocol)
        present = f.id in typed or not _missing(raw_values.get(f.id))
        if shown is False:
            if present:
                errors.append(FieldError(form.id, f.id, "hidden", f"must be empty: hidden unless {f.show_if}"))
            continue
        # an undecided condition (its inputs missing or refused) is the inputs' error, not this field's
        if f.required and not present and shown is True:
            errors.append(FieldError(form.id, f.id, "required", "is required"))
        v = typed.get(f.id)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if f.min is not None and v < f.min or f.max is not None and v > f.max:
                lo = f"{f.min:g}" if f.min is not None else "-inf"
                hi = f"{f.max:g}" if f.max is not None else "inf"
                errors.append(FieldError(form.id, f.id, "range", f"{v:g}{' ' + f.unit if f.unit else ''} is outside {lo}-{hi}"))
    refusing = [e for e in errors if strict or e.rule in HARD_RULES]
    if refusing:
        raise FormValidationError(refusing)
    return {f.id: typed[f.id] for f in fields if f.id in typed}


def soft_errors(protocol: Protocol, form_id: str, version: int, values: Mapping[str, Any]) -> list[FieldError]:
    """The ``required`` and ``range`` problems of values that pass the hard rules (for edit checks)."""
    try:
        validate_form(protocol, form_id, version, values, strict=True)
    except FormValidationError as exc:
        return [e for e in exc.errors if e.rule not in HARD_RULES]
    return []
