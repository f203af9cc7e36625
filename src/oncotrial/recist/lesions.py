"""SDTM TU/TR to one tidy table of lesion assessments, checked row by row.

The layout is the pharmaverse RECIST one (``tu_onco_recist``/``tr_onco_recist``):

* TU ``TUSTRESC`` is TARGET, NON-TARGET or NEW; ``TULOC`` "LYMPH NODE..." marks a node;
  a NEW lesion's TU row carries the VISITNUM at which it appeared.
* TR ``TRTESTCD`` LDIAM holds a target's diameter in mm in ``TRSTRESN`` (a node's
  short axis; 0 when the lesion disappeared); TUMSTATE holds a non-target's status
  in ``TRSTRESC``: ABSENT, PRESENT or UNEQUIVOCAL PROGRESSION.  A lesion not
  assessed at a visit has no TR row (or a missing result marked NOT DONE / NE).
* A target measured as "TOO SMALL TO MEASURE" (TRSTRESC or TRORRES, no number) counts
  5 mm, RECIST 1.1's default for a lesion seen but too small to measure (section 4.3.2).
* A target that split (4.3.2) has fragment TU rows, TULNKID ``<parent>.<n>`` (e.g.
  ``T01.1``) at the visit it split; their diameters are added to the parent's at each
  visit.  A coalesced lesion needs no rule here: the lesions absorbed are recorded 0 mm
  and the coalesced one carries the whole diameter.
* The baseline visit of a subject is the visit its baseline lesions were identified at
  (TU VISITNUM), or, when TU has no VISITNUM, its first TR visit.
* When both domains carry the evaluator (``TUEVAL``/``TUEVALID`` and
  ``TREVAL``/``TREVALID``), each evaluator's reads are a separate series with its
  own baseline, as in a blinded independent review.

Bad input raises ``ValueError`` naming the domain, 1-based row and column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["LesionData", "lesion_data", "baseline_visits", "NODAL_LOC", "TUMSTATE_VALUES", "TOO_SMALL_MM"]

NODAL_LOC = "LYMPH NODE"
TUMSTATE_VALUES = ("ABSENT", "PRESENT", "UNEQUIVOCAL PROGRESSION")
_ROLES = ("TARGET", "NON-TARGET", "NEW")
_NOT_DONE = {"NOT DONE", "NE", "NOT EVALUABLE", "NOT ASSESSED", "ND"}
TOO_SMALL = "TOO SMALL TO MEASURE"
TOO_SMALL_MM = 5.0


@dataclass(frozen=True)
class LesionData:
    """The lesions (one row per subject, evaluator and lesion) and their assessments.

    ``lesions``: USUBJID, EVAL, TULNKID, ROLE, ORGAN, NODAL, BASEVIS, TUROW.
    ``target``: USUBJID, EVAL, TULNKID, VISITNUM, LDIAM (NaN = not done), NODAL, TRROW.
    ``nontarget``: USUBJID, EVAL, TULNKID, VISITNUM, STATE (NaN = not done), TRROW.
    ``new``: USUBJID, EVAL, TULNKID, VISITNUM of each new lesion.
    ``visits``: USUBJID, EVAL, VISITNUM and, where TR has them, VISIT, TRDTC.
    ``evaluators``: EVAL to (TREVAL, TREVALID).
    ``basevis``: USUBJID, EVAL, BASEVISNUM (the baseline visit of each series).
    ``fragments``: USUBJID, EVAL, TULNKID (the fragment), PARENT, TUROW of split targets.
    """

    lesions: pd.DataFrame
    target: pd.DataFrame
    nontarget: pd.DataFrame
    new: pd.DataFrame
    visits: pd.DataFrame
    evaluators: dict[str, tuple[str | None, str | None]]
    basevis: pd.DataFrame | None = None
    fragments: pd.DataFrame | None = None


def _require(df: pd.DataFrame, domain: str, cols: tuple[str, ...]) -> None:
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{domain}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{domain}: missing column(s) {', '.join(missing)} (needed for RECIST 1.1)")


def _str(s: pd.Series) -> np.ndarray:
    """Upper-case stripped strings with missing as ''."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    vals = np.array(["" if (u is None or u != u) else str(u).strip().upper() for u in uniques] + [""], dtype=object)
    return vals[np.where(codes >= 0, codes, len(vals) - 1)]


def _raw(s: pd.Series) -> np.ndarray:
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    vals = np.array([None if (u is None or u != u or str(u).strip() == "") else str(u).strip() for u in uniques]
                    + [None], dtype=object)
    return vals[np.where(codes >= 0, codes, len(vals) - 1)]


def _bad(domain: str, rows: np.ndarray, col: str, values, what: str) -> ValueError:
    r = int(rows[0])
    v = values[0] if len(values) else None
    more = f" (and {len(rows) - 1} more rows)" if len(rows) > 1 else ""
    return ValueError(f"{domain} row {r + 1}: {col} {v!r} {what}{more}")


def _visitnum(df: pd.DataFrame, domain: str, mask: np.ndarray | None = None) -> np.ndarray:
    v = pd.to_numeric(df["VISITNUM"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(v)
    if mask is not None:
        bad &= mask
    if bad.any():
        rows = np.flatnonzero(bad)
        raise _bad(domain, rows, "VISITNUM", df["VISITNUM"].to_numpy()[rows], "is not a visit number")
    return v


def _eval_key(df: pd.DataFrame, prefix: str) -> tuple[np.ndarray, dict]:
    a = _raw(df[f"{prefix}EVAL"]) if f"{prefix}EVAL" in df.columns else np.full(len(df), None, dtype=object)
    b = _raw(df[f"{prefix}EVALID"]) if f"{prefix}EVALID" in df.columns else np.full(len(df), None, dtype=object)
    key = np.array([f"{x or ''}|{y or ''}" for x, y in zip(a, b)], dtype=object) if len(df) else np.array([], dtype=object)
    names = {k: (x, y) for k, x, y in zip(key, a, b)}
    return key, names


def lesion_data(tu: pd.DataFrame, tr: pd.DataFrame) -> LesionData:
    """Check TU/TR and join them into :class:`LesionData`.

    Example
    -------
    >>> d = lesion_data(tu, tr)                              # doctest: +SKIP
    >>> d.target.head()                                      # doctest: +SKIP
    """
    _require(tu, "TU", ("USUBJID", "TULNKID", "TUSTRESC"))
    _require(tr, "TR", ("USUBJID", "TRLNKID", "TRTESTCD", "VISITNUM", "TRSTRESC", "TRSTRESN"))
    tu = tu.reset_index(drop=True)
    tr = tr.reset_index(drop=True)
    by_eval = ("TUEVAL" in tu.columns or "TUEVALID" in tu.columns) and (
        "TREVAL" in tr.columns or "TREVALID" in tr.columns)

    # ---- TU
    tu_subj = _raw(tu["USUBJID"])
    tu_lnk = _raw(tu["TULNKID"])
    role = _str(tu["TUSTRESC"])
    for col, arr in (("USUBJID", tu_subj), ("TULNKID", tu_lnk)):
        miss = np.array([x is None for x in arr], dtype=bool)
        if miss.any():
            raise _bad("TU", np.flatnonzero(miss), col, [None], "is missing")
    badrole = ~np.isin(role, _ROLES)
    if badrole.any():
        rows = np.flatnonzero(badrole)
        raise _bad("TU", rows, "TUSTRESC", tu["TUSTRESC"].to_numpy()[rows],
                   "is not a RECIST lesion role; expected TARGET, NON-TARGET or NEW")
    loc = _str(tu["TULOC"]) if "TULOC" in tu.columns else np.full(len(tu), "", dtype=object)
    nodal = np.array([NODAL_LOC in x for x in loc], dtype=bool)
    organ = np.where(nodal, NODAL_LOC, loc)
    tu_eval, tu_names = _eval_key(tu, "TU") if by_eval else (np.full(len(tu), "|", dtype=object), {})
    is_new = role == "NEW"
    tu_vis = (_visitnum(tu, "TU", is_new) if "VISITNUM" in tu.columns
              else (np.full(len(tu), np.nan) if not is_new.any() else None))
    if tu_vis is None:
        raise ValueError("TU: missing column VISITNUM (a NEW lesion's TU row must carry the visit it appeared at)")
    les = pd.DataFrame({"USUBJID": tu_subj, "EVAL": tu_eval, "TULNKID": tu_lnk, "ROLE": role,
                        "ORGAN": organ, "NODAL": nodal, "BASEVIS": tu_vis, "TUROW": np.arange(len(tu)) + 1})
    # fragments of a split target: TULNKID "<parent>.<n>" where the parent is another lesion of the series
    is_frag = np.zeros(len(les), dtype=bool)
    parent = np.array([x.rsplit(".", 1)[0] if "." in x else "" for x in tu_lnk], dtype=object)
    if (parent != "").any():
        ids = set(zip(tu_subj[~is_new], tu_eval[~is_new], tu_lnk[~is_new]))
        is_frag = ~is_new & np.array([p != "" and (u, e, p) in ids for u, e, p in zip(tu_subj, tu_eval, parent)],
                                     dtype=bool)
    frag = les[is_frag].assign(PARENT=parent[is_frag])[["USUBJID", "EVAL", "TULNKID", "PARENT", "TUROW"]]
    base_les = les[~is_new & ~is_frag]
    # a lesion identified once per evaluator; repeated TU rows must agree on its role
    dup = base_les.duplicated(["USUBJID", "EVAL", "TULNKID"], keep=False)
    if dup.any():
        d = base_les[dup]
        conflict = d.groupby(["USUBJID", "EVAL", "TULNKID"])["ROLE"].transform("nunique") > 1
        if conflict.any():
            r = d[conflict].iloc[0]
            raise ValueError(f"TU row {r.TUROW}: TULNKID {r.TULNKID!r} of {r.USUBJID} is both TARGET and "
                             "NON-TARGET; a lesion has one role")
    base_les = base_les.drop_duplicates(["USUBJID", "EVAL", "TULNKID"]).reset_index(drop=True)
    frag = frag.drop_duplicates(["USUBJID", "EVAL", "TULNKID"]).reset_index(drop=True)
    roles_of = dict(zip(zip(base_les.USUBJID, base_les.EVAL, base_les.TULNKID), base_les.ROLE))
    for r in frag.itertuples():
        if roles_of.get((r.USUBJID, r.EVAL, r.PARENT)) != "TARGET":
            raise ValueError(f"TU row {r.TUROW}: TULNKID {r.TULNKID!r} of {r.USUBJID} is a fragment of "
                             f"{r.PARENT!r}, which is not a TARGET lesion; only target lesions split (RECIST 4.3.2)")
    new = les[is_new][["USUBJID", "EVAL", "TULNKID", "BASEVIS", "TUROW"]].rename(columns={"BASEVIS": "VISITNUM"})

    # ---- TR
    tr_subj = _raw(tr["USUBJID"])
    tr_lnk = _raw(tr["TRLNKID"])
    test = _str(tr["TRTESTCD"])
    for col, arr in (("USUBJID", tr_subj), ("TRLNKID", tr_lnk)):
        miss = np.array([x is None for x in arr], dtype=bool)
        if miss.any():
            raise _bad("TR", np.flatnonzero(miss), col, [None], "is missing")
    tr_eval, tr_names = _eval_key(tr, "TR") if by_eval else (np.full(len(tr), "|", dtype=object), {})
    vis = _visitnum(tr, "TR")
    frame = pd.DataFrame({"USUBJID": tr_subj, "EVAL": tr_eval, "TULNKID": tr_lnk, "VISITNUM": vis,
                          "TEST": test, "TRROW": np.arange(len(tr)) + 1})
    ids = base_les[["USUBJID", "EVAL", "TULNKID", "ROLE", "NODAL"]].assign(PARENT=base_les.TULNKID)
    if len(frag):
        fr = frag[["USUBJID", "EVAL", "TULNKID", "PARENT"]].merge(
            base_les[["USUBJID", "EVAL", "TULNKID", "ROLE", "NODAL"]].rename(columns={"TULNKID": "PARENT"}),
            on=["USUBJID", "EVAL", "PARENT"])
        ids = pd.concat([ids, fr[ids.columns]], ignore_index=True)
    m = frame.merge(ids, on=["USUBJID", "EVAL", "TULNKID"], how="left", sort=False)
    new_ids = set(zip(new.USUBJID, new.EVAL, new.TULNKID))
    orphan = m["ROLE"].isna().to_numpy()
    if orphan.any():
        keys = list(zip(m.USUBJID[orphan], m.EVAL[orphan], m.TULNKID[orphan]))
        still = np.array([k not in new_ids for k in keys], dtype=bool)
        if still.any():
            r = np.flatnonzero(orphan)[still]
            raise _bad("TR", r, "TRLNKID", tr["TRLNKID"].to_numpy()[r],
                       f"of {tr_subj[r[0]]} has no TARGET or NON-TARGET TU row (TULNKID) for this evaluator")
    rows = m["TRROW"].to_numpy() - 1
    roles = m["ROLE"].to_numpy(dtype=object)

    # targets: LDIAM in mm
    t_mask = (roles == "TARGET") & (m["TEST"].to_numpy() == "LDIAM")
    t_rows = rows[t_mask]
    val = pd.to_numeric(tr["TRSTRESN"].iloc[t_rows], errors="coerce").to_numpy(dtype=float)
    cres = _str(tr["TRSTRESC"].iloc[t_rows])
    ores = _str(tr["TRORRES"].iloc[t_rows]) if "TRORRES" in tr.columns else np.full(len(t_rows), "", dtype=object)
    stat = _str(tr["TRSTAT"].iloc[t_rows]) if "TRSTAT" in tr.columns else np.full(len(t_rows), "", dtype=object)
    # seen but too small to measure: RECIST's default 5 mm (0 mm is for a lesion that disappeared)
    val = np.where(np.isnan(val) & ((cres == TOO_SMALL) | (ores == TOO_SMALL)), TOO_SMALL_MM, val)
    not_done = np.isnan(val) & (np.isin(cres, list(_NOT_DONE)) | np.isin(stat, list(_NOT_DONE)))
    bad = (np.isnan(val) & ~not_done) | (val < 0) | np.isinf(val)
    if bad.any():
        b = t_rows[bad]
        raise _bad("TR", b, "TRSTRESN", tr["TRSTRESN"].to_numpy()[b],
                   "is not a diameter: LDIAM of a target lesion must be a number of mm >= 0 "
                   "(or missing with TRSTAT NOT DONE)")
    target = pd.DataFrame({"USUBJID": m.USUBJID.to_numpy()[t_mask], "EVAL": m.EVAL.to_numpy()[t_mask],
                           "TULNKID": m.TULNKID.to_numpy()[t_mask], "VISITNUM": vis[t_rows],
                           "LDIAM": val, "NODAL": m.NODAL.to_numpy()[t_mask].astype(bool), "TRROW": t_rows + 1})
    target = _dedupe(target, "LDIAM", "TRSTRESN")
    if len(frag):
        target = _join_fragments(target, ids)

    # non-targets: TUMSTATE
    n_mask = (roles == "NON-TARGET") & (m["TEST"].to_numpy() == "TUMSTATE")
    n_rows = rows[n_mask]
    state = _str(tr["TRSTRESC"].iloc[n_rows])
    nd = np.isin(state, list(_NOT_DONE)) | (state == "")
    badst = ~nd & ~np.isin(state, TUMSTATE_VALUES)
    if badst.any():
        b = n_rows[badst]
        raise _bad("TR", b, "TRSTRESC", tr["TRSTRESC"].to_numpy()[b],
                   "is not a non-target status; expected ABSENT, PRESENT or UNEQUIVOCAL PROGRESSION")
    nontarget = pd.DataFrame({"USUBJID": m.USUBJID.to_numpy()[n_mask], "EVAL": m.EVAL.to_numpy()[n_mask],
                              "TULNKID": m.TULNKID.to_numpy()[n_mask], "VISITNUM": vis[n_rows],
                              "STATE": np.where(nd, None, state), "TRROW": n_rows + 1})
    nontarget = _dedupe(nontarget, "STATE", "TRSTRESC")

    # the visits each series was assessed at, with the first date/name TR gives them
    vcols = {"USUBJID": tr_subj, "EVAL": tr_eval, "VISITNUM": vis}
    if "VISIT" in tr.columns:
        vcols["VISIT"] = _raw(tr["VISIT"])
    if "TRDTC" in tr.columns:
        vcols["TRDTC"] = _raw(tr["TRDTC"])
    keep = t_mask | n_mask
    visits = pd.DataFrame({k: v[rows[keep]] if k not in ("USUBJID", "EVAL") else v[rows[keep]]
                           for k, v in vcols.items()})
    visits = visits.drop_duplicates(["USUBJID", "EVAL", "VISITNUM"]).reset_index(drop=True)
    evaluators = {**{k: v for k, v in tu_names.items()}, **tr_names} if by_eval else {"|": (None, None)}
    basevis = _baseline_visits(base_les, target, nontarget)
    return LesionData(base_les, target, nontarget, new.reset_index(drop=True), visits, evaluators, basevis, frag)


def _join_fragments(target: pd.DataFrame, ids: pd.DataFrame) -> pd.DataFrame:
    """A split target's diameter at a visit: its own (if measured) plus its fragments' (RECIST 4.3.2)."""
    par = ids.set_index(["USUBJID", "EVAL", "TULNKID"])["PARENT"]
    key = pd.MultiIndex.from_frame(target[["USUBJID", "EVAL", "TULNKID"]])
    t = target.assign(TULNKID=par.reindex(key).to_numpy(), _ND=target.LDIAM.isna())
    g = t.groupby(["USUBJID", "EVAL", "TULNKID", "VISITNUM"], sort=False)
    out = g.agg(LDIAM=("LDIAM", "sum"), _ND=("_ND", "any"), NODAL=("NODAL", "first"), TRROW=("TRROW", "min"))
    # one piece not measured leaves the lesion not measured
    out["LDIAM"] = out.LDIAM.where(~out._ND)
    return out.drop(columns="_ND").reset_index()


def baseline_visits(data: LesionData) -> pd.DataFrame:
    """USUBJID, EVAL, BASEVISNUM of every series in ``data``."""
    if data.basevis is not None:
        return data.basevis
    return _baseline_visits(data.lesions, data.target, data.nontarget)


def _baseline_visits(les: pd.DataFrame, target: pd.DataFrame, nontarget: pd.DataFrame) -> pd.DataFrame:
    key = ["USUBJID", "EVAL"]
    seen = pd.concat([target[key + ["VISITNUM"]], nontarget[key + ["VISITNUM"]]], ignore_index=True)
    first = seen.groupby(key)["VISITNUM"].min()
    ident = les.groupby(key)["BASEVIS"].min() if len(les) else pd.Series(dtype=float)
    b = pd.concat([ident.rename("I"), first.rename("F")], axis=1)
    b["BASEVISNUM"] = b["I"].where(b["I"].notna(), b["F"])
    return b[["BASEVISNUM"]].dropna().reset_index()


def _dedupe(df: pd.DataFrame, col: str, trcol: str) -> pd.DataFrame:
    """One result per lesion and visit: identical repeats collapse, different ones are an error."""
    key = ["USUBJID", "EVAL", "TULNKID", "VISITNUM"]
    dup = df.duplicated(key, keep=False).to_numpy()
    if dup.any():
        d = df[dup]
        vals = d[col].astype(object).where(d[col].notna(), "<missing>")
        n = vals.groupby([d[k] for k in key]).transform("nunique")
        if (n > 1).any():
            r = d[(n > 1).to_numpy()].iloc[0]
            raise ValueError(f"TR row {r.TRROW}: {trcol} of lesion {r.TULNKID} ({r.USUBJID}, VISITNUM "
                             f"{r.VISITNUM:g}) disagrees with another TR row for the same lesion and visit")
    return df.drop_duplicates(key).reset_index(drop=True)
