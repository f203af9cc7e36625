"""A data cut-off applied to SDTM: the domains as they were known on the cut-off date.

An analysis at a cut-off (an interim, the primary analysis) reads only what had happened by
then. :func:`cut_at` keeps each subject randomized on or before the cut-off (DS ``RANDOMIZED``),
drops every row whose own date (``--DTC``, else ``--STDTC``) falls after it, and blanks end
dates after it (the event was ongoing at the cut-off). DM's death date after the cut-off is
blanked with its ``DTHFL``. Supplemental qualifiers follow their parent row.

Partial ISO 8601 dates are compared by their earliest possible day: ``2021-06`` is after a
cut-off of ``2021-05-31`` but ``2021-05`` is not, since it may have been on or before it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pandas as pd

_DM_DATES = ("RFSTDTC", "RFENDTC", "RFXSTDTC", "RFXENDTC", "RFICDTC", "RFPENDTC", "DTHDTC")


def cutoff_date(cutoff: dt.date | str) -> dt.date:
    """A cut-off as a date; text must be YYYY-MM-DD."""
    if isinstance(cutoff, dt.datetime):
        return cutoff.date()
    if isinstance(cutoff, dt.date):
        return cutoff
    try:
        return dt.date.fromisoformat(str(cutoff).strip())
    except ValueError:
        raise ValueError(f"cutoff: expected a date YYYY-MM-DD, got {cutoff!r}") from None


def _earliest(values: pd.Series) -> pd.Series:
    """The earliest day each ISO 8601 value can be (``2021`` -> 2021-01-01), NaT when empty."""
    text = values.astype("string").fillna("").str.strip().str[:10]
    padded = text.where(text.str.len() != 4, text + "-01-01")
    padded = padded.where(padded.str.len() != 7, padded + "-01")
    return pd.to_datetime(padded.where(padded.str.len() == 10), format="%Y-%m-%d", errors="coerce")


def _after(values: pd.Series, cutoff: pd.Timestamp) -> pd.Series:
    return (_earliest(values) > cutoff).fillna(False).astype(bool)


def _blank(frame: pd.DataFrame, column: str, where: pd.Series) -> None:
    if where.any():
        frame[column] = frame[column].astype(object)
        frame.loc[where, column] = ""


def _row_date(frame: pd.DataFrame, domain: str) -> str | None:
    for column in (f"{domain}DTC", f"{domain}STDTC"):
        if column in frame.columns:
            return column
    return None


def randomizations(ds: pd.DataFrame) -> pd.DataFrame:
    """The DS rows recording a randomization (DSDECOD ``RANDOMIZED``, any case): who is in the trial
    at a cut-off, by its DSSTDTC.

    >>> ds = pd.DataFrame({"USUBJID": ["1", "1"], "DSDECOD": ["randomized", "COMPLETED"]})
    >>> randomizations(ds)["USUBJID"].tolist()
    ['1']
    """
    return ds[ds["DSDECOD"].astype("string").str.upper() == "RANDOMIZED"]


def cut_at(domains: Mapping[str, pd.DataFrame], cutoff: dt.date | str) -> dict[str, pd.DataFrame]:
    """The domains as known at ``cutoff``: later subjects and rows dropped, later end dates blanked.

    ``--SEQ`` values are kept (not renumbered), so a row keeps the identity the database gave it
    and its SUPP-- rows still point at it.

    >>> dm = pd.DataFrame({"USUBJID": ["1", "2"], "DTHDTC": ["2021-07-01", ""], "DTHFL": ["Y", ""]})
    >>> ds = pd.DataFrame({"USUBJID": ["1", "2"], "DSDECOD": ["RANDOMIZED"] * 2,
    ...                    "DSSTDTC": ["2021-01-04", "2021-06-02"]})
    >>> ae = pd.DataFrame({"USUBJID": ["1", "1"], "AESEQ": [1, 2], "AESTDTC": ["2021-02", "2021-06"],
    ...                    "AEENDTC": ["2021-06-10", ""]})
    >>> cut = cut_at({"DM": dm, "DS": ds, "AE": ae}, "2021-05-31")
    >>> cut["DM"][["USUBJID", "DTHDTC", "DTHFL"]].to_dict("records")
    [{'USUBJID': '1', 'DTHDTC': '', 'DTHFL': ''}]
    >>> cut["AE"][["AESEQ", "AESTDTC", "AEENDTC"]].to_dict("records")
    [{'AESEQ': 1, 'AESTDTC': '2021-02', 'AEENDTC': ''}]
    """
    day = pd.Timestamp(cutoff_date(cutoff))
    upper = {str(k).upper(): v for k, v in domains.items()}
    ds = upper.get("DS")
    keep_subjects: set[str] | None = None
    if ds is not None and {"USUBJID", "DSDECOD", "DSSTDTC"} <= set(ds.columns):
        rand = randomizations(ds)
        keep_subjects = set(rand.loc[~_after(rand["DSSTDTC"], day), "USUBJID"].astype(str))
    out: dict[str, pd.DataFrame] = {}
    dropped: dict[str, set[tuple[str, str]]] = {}
    for name, frame in upper.items():
        if name.startswith("SUPP"):
            continue
        f = frame.copy()
        keep = pd.Series(True, index=f.index)
        if keep_subjects is not None and "USUBJID" in f.columns:
            keep &= f["USUBJID"].astype(str).isin(keep_subjects)
        if name == "DM":
            for column in _DM_DATES:
                if column in f.columns:
                    late = _after(f[column], day)
                    if column == "DTHDTC" and "DTHFL" in f.columns:
                        _blank(f, "DTHFL", late)
                    _blank(f, column, late)
        else:
            column = _row_date(f, name)
            if column is not None:
                keep &= ~_after(f[column], day)
            if f"{name}ENDTC" in f.columns:
                _blank(f, f"{name}ENDTC", _after(f[f"{name}ENDTC"], day))
        seq = f"{name}SEQ"
        if seq in f.columns and "USUBJID" in f.columns:
            gone = f.loc[~keep, ["USUBJID", seq]]
            dropped[name] = {(str(u), _seq_text(s)) for u, s in gone.itertuples(index=False)}
        out[name] = f.loc[keep].reset_index(drop=True)
    for name, frame in upper.items():
        if not name.startswith("SUPP"):
            continue
        f = frame
        keep = pd.Series(True, index=f.index)
        if keep_subjects is not None and "USUBJID" in f.columns:
            keep &= f["USUBJID"].astype(str).isin(keep_subjects)
        parent = dropped.get(name[4:], set())
        if parent and {"USUBJID", "IDVARVAL"} <= set(f.columns):
            keys = [(str(u), _seq_text(v)) for u, v in zip(f["USUBJID"], f["IDVARVAL"])]
            keep &= pd.Series([k not in parent for k in keys], index=f.index)
        out[name] = f.loc[keep].reset_index(drop=True)
    return {k: out[k] for k in sorted(out)}


def _seq_text(v: object) -> str:
    """A --SEQ or IDVARVAL as text, so ``3``, ``3.0`` and ``"3"`` match."""
    try:
        return str(int(float(v)))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(v)
