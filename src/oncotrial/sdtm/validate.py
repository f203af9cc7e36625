"""Checks of SDTM domains: required and expected variables, ISO 8601 ``--DTC`` values,
numeric variables, DOMAIN values and key uniqueness.

Every problem is reported as ``<DOMAIN> row <n>: <VARIABLE> ...`` where ``n`` is the
1-based position of the record in the dataset (row 1 is the first record, not the
header), so a message points straight at the offending value.
"""

from __future__ import annotations

import calendar
import re

import numpy as np
import pandas as pd

from oncotrial.sdtm.spec import spec_for

__all__ = ["validate_domain", "iso8601_invalid", "is_dtc_variable"]

# SDTM ISO 8601 date/time: right-truncated (YYYY, YYYY-MM, YYYY-MM-DD, ...T hh:mm[:ss[.f]])
# with an optional UTC offset.
_ISO = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2})(?::(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
_MAX_REPORTED = 10


def is_dtc_variable(name: str) -> bool:
    """True for SDTM date/time variables (``--DTC``, e.g. AESTDTC, RFSTDTC)."""
    return name.upper().endswith("DTC")


def _bad_iso(text: str) -> bool:
    m = _ISO.match(text)
    if m is None:
        return True
    y, mo, d, hh, mi, ss = (m.group(k) for k in ("y", "m", "d", "H", "M", "S"))
    if mo is not None and not 1 <= int(mo) <= 12:
        return True
    if d is not None:
        days = calendar.monthrange(int(y), int(mo))[1]
        if not 1 <= int(d) <= days:
            return True
    if hh is not None and int(hh) > 23:
        return True
    if mi is not None and int(mi) > 59:
        return True
    return ss is not None and int(ss) > 59


def iso8601_invalid(values: pd.Series) -> np.ndarray:
    """Boolean mask of non-missing values that are not valid SDTM ISO 8601 date/times.

    Checks the shape (right truncation only) and the calendar (month 1-12, day within
    the month, hour < 24, minute and second < 60).

    >>> iso8601_invalid(pd.Series(["2021-01-31", "2021-13-01", None, "2021-02-29"])).tolist()
    [False, True, False, True]
    """
    raw = pd.Series(values, copy=False)
    # Dates repeat heavily: check each distinct value once.
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    bad_u = np.array([(str(u).strip() != "") and _bad_iso(str(u).strip()) for u in uniques], dtype=bool)
    out = np.zeros(len(raw), dtype=bool)
    ok = codes >= 0
    out[ok] = bad_u[codes[ok]]
    return out


def _blank(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(series):
        return series.isna().to_numpy()
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    blank_u = np.array([str(u).strip() == "" for u in uniques], dtype=bool)
    out = np.ones(len(series), dtype=bool)
    ok = codes >= 0
    out[ok] = blank_u[codes[ok]]
    return out


def _fmt(domain: str, rows: np.ndarray, text) -> list[str]:
    return [f"{domain} row {int(r) + 1}: {text(int(r))}" for r in rows]


def validate_domain(data: pd.DataFrame, domain: str, *, strict: bool = False) -> pd.DataFrame:
    """Check one SDTM domain and return a copy with numeric variables as numbers.

    Parameters
    ----------
    data : the domain as read (any column order; extra variables are kept).
    domain : its name, e.g. ``"AE"``, ``"SUPPDM"``, ``"RS_ONCO"``.
    strict : also require the SDTMIG *Expected* variables to be present as columns.

    Raises
    ------
    ValueError naming the domain, the variable and the 1-based row, e.g.
    ``AE row 17: AESTDTC '2021-13-01' is not an ISO 8601 date``.

    Example
    -------
    >>> ae = pd.DataFrame({"STUDYID": ["S"], "DOMAIN": ["AE"], "USUBJID": ["S-1"],
    ...                    "AESEQ": [1], "AETERM": ["HEADACHE"], "AEDECOD": ["Headache"],
    ...                    "AESTDTC": ["2021-13-01"]})
    >>> validate_domain(ae, "AE")
    Traceback (most recent call last):
    ...
    ValueError: AE row 1: AESTDTC '2021-13-01' is not an ISO 8601 date
    """
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"{domain}: expected a pandas DataFrame, got {type(data).__name__}")
    name = domain.upper()
    out = data.copy()
    errors: list[str] = []
    spec = spec_for(name)

    if spec is not None:
        missing = [v for v in spec.required if v not in out.columns]
        if strict:
            missing += [v for v in spec.expected if v not in out.columns]
        if missing:
            kind = "required/expected" if strict else "required"
            raise ValueError(f"{name}: {kind} variable(s) {', '.join(missing)} missing "
                             f"(columns present: {', '.join(map(str, out.columns))})")
        for var in spec.required:
            rows = np.flatnonzero(_blank(out[var]))
            errors += _fmt(name, rows, lambda r, v=var: f"required variable {v} is missing a value")
        for var in spec.numeric:
            if var not in out.columns or pd.api.types.is_numeric_dtype(out[var]):
                continue
            raw = out[var].astype("string").str.strip()
            conv = pd.to_numeric(raw.replace("", pd.NA), errors="coerce")
            rows = np.flatnonzero((raw.notna() & (raw != "")).fillna(False).to_numpy() & conv.isna().to_numpy())
            errors += _fmt(name, rows, lambda r, v=var, s=raw: f"{v} '{s.iloc[r]}' is not numeric")
            out[var] = conv.astype("Float64").astype(float)
        if "DOMAIN" in out.columns and name != "SUPP" and not name.startswith("SUPP"):
            want = name.split("_", 1)[0]
            dom = out["DOMAIN"].astype("string")
            rows = np.flatnonzero((dom.notna() & (dom != want)).fillna(False).to_numpy())
            errors += _fmt(name, rows, lambda r, s=dom: f"DOMAIN '{s.iloc[r]}' is not '{want}'")
        seq = f"{name[:2]}SEQ"
        if seq in out.columns and "USUBJID" in out.columns and name[:2] != "SU":
            dup = out.duplicated(["USUBJID", seq], keep="first").to_numpy() & ~_blank(out[seq])
            errors += _fmt(name, np.flatnonzero(dup),
                           lambda r: f"{seq} {out[seq].iloc[r]} repeats for USUBJID '{out['USUBJID'].iloc[r]}'")
        if name == "DM" and "USUBJID" in out.columns:
            dup = out["USUBJID"].duplicated(keep="first").to_numpy()
            errors += _fmt(name, np.flatnonzero(dup),
                           lambda r: f"USUBJID '{out['USUBJID'].iloc[r]}' appears more than once")

    for var in out.columns:
        if not is_dtc_variable(str(var)):
            continue
        if pd.api.types.is_numeric_dtype(out[var]) and out[var].notna().any():
            rows = np.flatnonzero(out[var].notna().to_numpy())
            errors += _fmt(name, rows, lambda r, v=var: f"{v} {out[v].iloc[r]!r} is not an ISO 8601 date (numeric)")
            continue
        rows = np.flatnonzero(iso8601_invalid(out[var]))
        errors += _fmt(name, rows, lambda r, v=var: f"{v} '{out[v].iloc[r]}' is not an ISO 8601 date")

    if errors:
        errors.sort(key=lambda e: int(e.split(" row ", 1)[1].split(":", 1)[0]))
        more = len(errors) - _MAX_REPORTED
        text = "; ".join(errors[:_MAX_REPORTED])
        if more > 0:
            text += f" (and {more} more problem(s))"
        raise ValueError(text)
    return out
