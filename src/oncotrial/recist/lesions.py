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

    ``lesions``: USUBJID, EVAL, TULNKID, ROLE, ORGAN, NODAL, BASEVIS, TUROW, SID, LID.
    ``target``: USUBJID, EVAL, TULNKID, VISITNUM, LDIAM (NaN = not done), NODAL, TRROW, SID, LID.
    ``nontarget``: USUBJID, EVAL, TULNKID, VISITNUM, STATE (NaN = not done), TRROW, SID, LID.
    ``new``: USUBJID, EVAL, TULNKID, VISITNUM, TUROW, SID, LID of each new lesion.
    ``visits``: USUBJID, EVAL, VISITNUM and, where TR has them, VISIT, TRDTC; SID.
    ``evaluators``: EVAL to (TREVAL, TREVALID).
    ``basevis``: USUBJID, EVAL, BASEVISNUM (the baseline visit of each series), SID.
    ``fragments``: USUBJID, EVAL, TULNKID (the fragment), PARENT, TUROW, SID, LID of split targets.

    SID numbers the series (USUBJID, EVAL) and LID the lesions (USUBJID, EVAL, TULNKID),
    both in sorted order of those strings, so grouping, joining and sorting on them is
    grouping, joining and sorting on the strings without hashing strings again.
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


def _upper(u) -> str:
    return "" if (u is None or u != u) else str(u).strip().upper()


def _stripped(u) -> str | None:
    return None if (u is None or u != u or str(u).strip() == "") else str(u).strip()


def _factor(s: pd.Series, clean) -> tuple[np.ndarray, np.ndarray]:
    """``s`` as codes into its distinct values after ``clean`` (missing is cleaned too): ``values[codes]``."""
    # an object array hashes twice as fast as the 'str' Series holding it
    arr = s.to_numpy() if s.dtype == object or isinstance(s.dtype, pd.StringDtype) else s
    if s.dtype == "str" and _in_runs(arr):
        # TU/TR in subject order repeat USUBJID (and evaluator, visit, date) over runs of rows: hash once a run
        head = np.flatnonzero(np.concatenate([[True], arr[1:] != arr[:-1]]))
        codes, uniques = pd.factorize(arr[head])
        codes = np.repeat(codes, np.diff(np.append(head, len(arr))))
    else:
        codes, uniques = pd.factorize(arr)
    vals = [clean(u) for u in uniques]
    if (codes < 0).any():
        codes = np.where(codes < 0, len(vals), codes)
        vals.append(clean(None))
    # values equal once cleaned (" A" and "A") share a code
    index: dict = {}
    remap = np.array([index.setdefault(v, len(index)) for v in vals], dtype=np.intp)
    return remap[codes], np.array(list(index), dtype=object)


def _in_runs(arr: np.ndarray, sample: int = 2000) -> bool:
    """Whether the first rows of ``arr`` mostly repeat the row before ('str' values: NaN or str, safe to compare)."""
    head = arr[:sample]
    return len(head) > 1 and 2 * np.count_nonzero(head[1:] != head[:-1]) < len(head)


def _column(df: pd.DataFrame, col: str, clean) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_factor` of ``df[col]``, or of an all-missing column when ``df`` has none."""
    if col in df.columns:
        return _factor(df[col], clean)
    return np.zeros(len(df), dtype=np.intp), np.array([clean(None)], dtype=object)


def _is(df: pd.DataFrame, col: str, rows: np.ndarray, labels) -> np.ndarray:
    """Whether ``df[col]`` at ``rows``, stripped and upper-cased, is one of ``labels`` (False without the column)."""
    if col not in df.columns:
        return np.zeros(len(rows), dtype=bool)
    codes, values = _factor(df[col].iloc[rows], _upper)
    return np.isin(values, list(labels))[codes]


def _str(s: pd.Series) -> np.ndarray:
    """Upper-case stripped strings with missing as ''."""
    codes, values = _factor(s, _upper)
    return values[codes]


def _common(*factors: tuple[np.ndarray, np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """The codes of several factorizations into their common values, sorted so that ordering by
    code is ordering by value; a missing value (None) is code -1."""
    values = sorted({v for _, vals in factors for v in vals if v is not None})
    at = {v: i for i, v in enumerate(values)}
    out = [np.array([at.get(v, -1) for v in vals], dtype=np.intp)[codes] for codes, vals in factors]
    return out, np.array(values, dtype=object)


def _ids(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ids of the pairs of codes (a, b) (codes >= -1), numbered in sorted order of the pairs; and each id's a and b."""
    m = int(b.max()) + 2 if len(b) else 1
    key = (a + 1) * m + (b + 1)
    top = int(key.max()) + 1 if len(key) else 0
    if top <= 4 * len(key):
        # keys this dense number faster by a table over their range than by hashing
        seen = np.zeros(top, dtype=bool)
        seen[key] = True
        ids, pairs = (np.cumsum(seen) - 1)[key], np.flatnonzero(seen)
    else:
        ids, pairs = pd.factorize(key, sort=True)
    return ids, pairs // m - 1, pairs % m - 1


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


def _eval_key(df: pd.DataFrame, prefix: str) -> tuple[np.ndarray, np.ndarray, dict]:
    """Each row's evaluator "<EVAL>|<EVALID>" as codes into the keys, and each key's (EVAL, EVALID)."""
    (ca, va), (cb, vb) = (_column(df, f"{prefix}{c}", _stripped) for c in ("EVAL", "EVALID"))
    pair, first = pd.factorize(ca * len(vb) + cb)
    a, b = va[first // len(vb)], vb[first % len(vb)]
    key = np.array([f"{x or ''}|{y or ''}" for x, y in zip(a, b)], dtype=object)
    names = dict(zip(key, zip(a, b)))
    if len(names) < len(key):
        # a '|' inside a name can spell two evaluators alike; as row by row, the last row's pair names the key
        names = {k: (x, y) for k, x, y in zip(key[pair], a[pair], b[pair])}
    codes, keys = pd.factorize(key)
    return codes[pair], keys.astype(object), names


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

    # ---- keys: each string column hashed once, into codes common to TU and TR
    if by_eval:
        tu_ev, tr_ev = _eval_key(tu, "TU"), _eval_key(tr, "TR")
    else:
        tu_ev, tr_ev = ((np.zeros(len(df), dtype=np.intp), np.array(["|"], dtype=object), {}) for df in (tu, tr))
    (tu_s, tr_s), subj_v = _common(_factor(tu["USUBJID"], _stripped), _factor(tr["USUBJID"], _stripped))
    (tu_l, tr_l), lnk_v = _common(_factor(tu["TULNKID"], _stripped), _factor(tr["TRLNKID"], _stripped))
    (tu_e, tr_e), eval_v = _common(tu_ev[:2], tr_ev[:2])
    # a fragment's parent "<parent>.<n>", as a link code (-1: none)
    lnk_at = {v: i for i, v in enumerate(lnk_v)}
    parent_of = np.array([lnk_at.get(v.rsplit(".", 1)[0], -1) if "." in v else -1 for v in lnk_v] + [-1],
                         dtype=np.intp)
    tu_p = parent_of[tu_l]
    n_tu, n_tr = len(tu), len(tr)
    sid, sid_s, sid_e = _ids(np.concatenate([tu_s, tr_s]), np.concatenate([tu_e, tr_e]))
    # the parents' pairs get ids too, so a fragment finds its parent by id
    lid, lid_sid, lid_l = _ids(np.concatenate([sid, sid[:n_tu]]), np.concatenate([tu_l, tr_l, tu_p]))
    tu_sid, tr_sid = sid[:n_tu], sid[n_tu:]
    tu_lid, tr_lid, tu_plid = lid[:n_tu], lid[n_tu:n_tu + n_tr], lid[n_tu + n_tr:]

    # ---- TU
    for col, codes in (("USUBJID", tu_s), ("TULNKID", tu_l)):
        if (codes < 0).any():
            raise _bad("TU", np.flatnonzero(codes < 0), col, [None], "is missing")
    role = _str(tu["TUSTRESC"])
    badrole = ~np.isin(role, _ROLES)
    if badrole.any():
        rows = np.flatnonzero(badrole)
        raise _bad("TU", rows, "TUSTRESC", tu["TUSTRESC"].to_numpy()[rows],
                   "is not a RECIST lesion role; expected TARGET, NON-TARGET or NEW")
    codes, locs = _column(tu, "TULOC", _upper)
    nodal = np.array([NODAL_LOC in x for x in locs], dtype=bool)[codes]
    organ = np.where(nodal, NODAL_LOC, locs[codes])
    is_new = role == "NEW"
    tu_vis = (_visitnum(tu, "TU", is_new) if "VISITNUM" in tu.columns
              else (np.full(n_tu, np.nan) if not is_new.any() else None))
    if tu_vis is None:
        raise ValueError("TU: missing column VISITNUM (a NEW lesion's TU row must carry the visit it appeared at)")
    les = pd.DataFrame({"USUBJID": subj_v[tu_s], "EVAL": eval_v[tu_e], "TULNKID": lnk_v[tu_l], "ROLE": role,
                        "ORGAN": organ, "NODAL": nodal, "BASEVIS": tu_vis, "TUROW": np.arange(n_tu) + 1,
                        "SID": tu_sid, "LID": tu_lid})
    # fragments of a split target: TULNKID "<parent>.<n>" where the parent is another lesion of the series
    is_frag = ~is_new & (tu_p >= 0) & np.isin(tu_plid, tu_lid[~is_new])
    frag = les[is_frag].assign(PARENT=lnk_v[tu_p[is_frag]], PLID=tu_plid[is_frag])
    base_les = les[~is_new & ~is_frag]
    # a lesion identified once per evaluator; repeated TU rows must agree on its role
    dup = base_les.duplicated("LID", keep=False)
    if dup.any():
        d = base_les[dup]
        conflict = d.groupby("LID")["ROLE"].transform("nunique") > 1
        if conflict.any():
            r = d[conflict].iloc[0]
            raise ValueError(f"TU row {r.TUROW}: TULNKID {r.TULNKID!r} of {r.USUBJID} is both TARGET and "
                             "NON-TARGET; a lesion has one role")
    base_les = base_les.drop_duplicates("LID").reset_index(drop=True)
    frag = frag.drop_duplicates("LID").reset_index(drop=True)
    # each lesion id's role (index into _ROLES, -1: none), node flag and the lesion it is measured as
    n_lid = len(lid_sid)
    lid_role = np.full(n_lid, -1, dtype=np.intp)
    lid_role[base_les.LID.to_numpy()] = pd.Categorical(base_les.ROLE, categories=_ROLES).codes
    lid_nodal = np.zeros(n_lid, dtype=bool)
    lid_nodal[base_les.LID.to_numpy()] = base_les.NODAL.to_numpy()
    lid_into = np.full(n_lid, -1, dtype=np.intp)
    lid_into[base_les.LID.to_numpy()] = base_les.LID.to_numpy()
    plid = frag.PLID.to_numpy()
    target_role, nontarget_role = _ROLES.index("TARGET"), _ROLES.index("NON-TARGET")
    not_target = np.flatnonzero(lid_role[plid] != target_role)
    if len(not_target):
        r = frag.iloc[not_target[0]]
        raise ValueError(f"TU row {r.TUROW}: TULNKID {r.TULNKID!r} of {r.USUBJID} is a fragment of "
                         f"{r.PARENT!r}, which is not a TARGET lesion; only target lesions split (RECIST 4.3.2)")
    flid = frag.LID.to_numpy()
    # a fragment is measured as its parent, with the parent's role and node flag
    lid_role[flid], lid_nodal[flid], lid_into[flid] = lid_role[plid], lid_nodal[plid], plid
    frag = frag[["USUBJID", "EVAL", "TULNKID", "PARENT", "TUROW", "SID", "LID"]]
    new = les[is_new][["USUBJID", "EVAL", "TULNKID", "BASEVIS", "TUROW", "SID", "LID"]].rename(
        columns={"BASEVIS": "VISITNUM"})

    # ---- TR
    for col, codes in (("USUBJID", tr_s), ("TRLNKID", tr_l)):
        if (codes < 0).any():
            raise _bad("TR", np.flatnonzero(codes < 0), col, [None], "is missing")
    vis = _visitnum(tr, "TR")
    # a lesion's and a series' visit, each as one integer, to find repeats by
    vis_c = pd.factorize(vis)[0]
    n_vis = int(vis_c.max()) + 1 if len(vis_c) else 1
    lesion_visit, series_visit = tr_lid * n_vis + vis_c, tr_sid * n_vis + vis_c
    roles = lid_role[tr_lid]
    orphan = roles < 0
    if orphan.any():
        still = ~np.isin(tr_lid[orphan], new.LID.to_numpy())
        if still.any():
            r = np.flatnonzero(orphan)[still]
            raise _bad("TR", r, "TRLNKID", tr["TRLNKID"].to_numpy()[r],
                       f"of {subj_v[tr_s[r[0]]]} has no TARGET or NON-TARGET TU row (TULNKID) for this evaluator")
    test_c, test_v = _factor(tr["TRTESTCD"], _upper)

    def frame(rows: np.ndarray, **cols) -> pd.DataFrame:
        """TR ``rows`` as lesion assessments: keys, visit, ``cols``, row number and ids."""
        return pd.DataFrame({"USUBJID": subj_v[tr_s[rows]], "EVAL": eval_v[tr_e[rows]], "TULNKID": lnk_v[tr_l[rows]],
                             "VISITNUM": vis[rows], **cols, "TRROW": rows + 1, "SID": tr_sid[rows],
                             "LID": tr_lid[rows]})

    # targets: LDIAM in mm
    t_mask = (roles == target_role) & (test_v == "LDIAM")[test_c]
    t_rows = np.flatnonzero(t_mask)
    val = pd.to_numeric(tr["TRSTRESN"].iloc[t_rows], errors="coerce").to_numpy(dtype=float)
    # only a missing diameter needs its text read
    gap = np.flatnonzero(np.isnan(val))
    g_rows = t_rows[gap]
    # seen but too small to measure: RECIST's default 5 mm (0 mm is for a lesion that disappeared)
    small = _is(tr, "TRSTRESC", g_rows, [TOO_SMALL]) | _is(tr, "TRORRES", g_rows, [TOO_SMALL])
    val = val.copy()
    val[gap[small]] = TOO_SMALL_MM
    not_done = np.zeros(len(t_rows), dtype=bool)
    not_done[gap[~small & (_is(tr, "TRSTRESC", g_rows, _NOT_DONE) | _is(tr, "TRSTAT", g_rows, _NOT_DONE))]] = True
    bad = (np.isnan(val) & ~not_done) | (val < 0) | np.isinf(val)
    if bad.any():
        b = t_rows[bad]
        raise _bad("TR", b, "TRSTRESN", tr["TRSTRESN"].to_numpy()[b],
                   "is not a diameter: LDIAM of a target lesion must be a number of mm >= 0 "
                   "(or missing with TRSTAT NOT DONE)")
    target = _dedupe(frame(t_rows, LDIAM=val, NODAL=lid_nodal[tr_lid[t_rows]]), lesion_visit[t_rows], "LDIAM",
                     "TRSTRESN")
    if len(frag):
        target = _join_fragments(target, lid_into, lnk_v[lid_l])

    # non-targets: TUMSTATE
    n_mask = (roles == nontarget_role) & (test_v == "TUMSTATE")[test_c]
    n_rows = np.flatnonzero(n_mask)
    codes, states = _factor(tr["TRSTRESC"].iloc[n_rows], _upper)
    state = states[codes]
    nd = (np.isin(states, list(_NOT_DONE)) | (states == ""))[codes]
    badst = ~nd & ~np.isin(states, TUMSTATE_VALUES)[codes]
    if badst.any():
        b = n_rows[badst]
        raise _bad("TR", b, "TRSTRESC", tr["TRSTRESC"].to_numpy()[b],
                   "is not a non-target status; expected ABSENT, PRESENT or UNEQUIVOCAL PROGRESSION")
    nontarget = _dedupe(frame(n_rows, STATE=np.where(nd, None, state)), lesion_visit[n_rows], "STATE", "TRSTRESC")

    # the visits each series was assessed at, with the first date/name TR gives them
    rows = np.flatnonzero(t_mask | n_mask)
    first = rows[~pd.Index(series_visit[rows]).duplicated()]
    vcols = {"USUBJID": subj_v[tr_s[first]], "EVAL": eval_v[tr_e[first]], "VISITNUM": vis[first]}
    for col in ("VISIT", "TRDTC"):
        if col in tr.columns:
            vcols[col] = _first_strings(tr[col], first, rows)
    visits = pd.DataFrame({**vcols, "SID": tr_sid[first]})
    evaluators = {**tu_ev[2], **tr_ev[2]} if by_eval else {"|": (None, None)}
    basevis = _baseline_visits(base_les, target, nontarget)
    return LesionData(base_les, target, nontarget, new.reset_index(drop=True), visits, evaluators, basevis, frag)


def _join_fragments(target: pd.DataFrame, into: np.ndarray, lnk: np.ndarray) -> pd.DataFrame:
    """A split target's diameter at a visit: its own (if measured) plus its fragments' (RECIST 4.3.2).

    ``into``: the lesion id each lesion id is measured as (a fragment's parent); ``lnk``: each id's TULNKID."""
    lid = into[target.LID.to_numpy()]
    t = target.assign(TULNKID=lnk[lid], LID=lid, _ND=target.LDIAM.isna(), _I=np.arange(len(target)))
    g = t.groupby(["LID", "VISITNUM"], sort=False)
    out = g.agg(LDIAM=("LDIAM", "sum"), _ND=("_ND", "any"), NODAL=("NODAL", "first"), TRROW=("TRROW", "min"),
                _I=("_I", "first")).reset_index()
    # one piece not measured leaves the lesion not measured
    out["LDIAM"] = out.LDIAM.where(~out._ND)
    first = t.iloc[out._I.to_numpy()]
    return pd.DataFrame({"USUBJID": first.USUBJID.to_numpy(), "EVAL": first.EVAL.to_numpy(),
                         "TULNKID": first.TULNKID.to_numpy(), "VISITNUM": out.VISITNUM.to_numpy(),
                         "LDIAM": out.LDIAM.to_numpy(), "NODAL": out.NODAL.to_numpy(), "TRROW": out.TRROW.to_numpy(),
                         "SID": first.SID.to_numpy(), "LID": out.LID.to_numpy()})


def baseline_visits(data: LesionData) -> pd.DataFrame:
    """USUBJID, EVAL, BASEVISNUM, SID of every series in ``data``, in order of SID."""
    if data.basevis is not None:
        return data.basevis
    return _baseline_visits(data.lesions, data.target, data.nontarget)


def _baseline_visits(les: pd.DataFrame, target: pd.DataFrame, nontarget: pd.DataFrame) -> pd.DataFrame:
    seen = pd.concat([target[["SID", "VISITNUM"]], nontarget[["SID", "VISITNUM"]]], ignore_index=True)
    first = seen.groupby("SID")["VISITNUM"].min()
    b = les.drop_duplicates("SID").sort_values("SID")[["USUBJID", "EVAL", "SID"]]
    ident = les.groupby("SID")["BASEVIS"].min().to_numpy()
    b.insert(2, "BASEVISNUM", np.where(np.isnan(ident), first.reindex(b.SID).to_numpy(), ident))
    return b[b.BASEVISNUM.notna().to_numpy()].reset_index(drop=True)


def _first_strings(s: pd.Series, first: np.ndarray, rows: np.ndarray):
    """Stripped ``s`` (None: missing) at ``first``, some of ``rows``, typed as pandas types a column of all
    ``rows``: 'str' when any of them has a string, even if none of ``first`` does."""
    codes, values = _factor(s.iloc[first], _stripped)
    out = values[codes]
    if len(out) and all(v is None for v in values) and any(v is not None for v in _factor(s.iloc[rows], _stripped)[1]):
        return pd.array(out, dtype="str")
    return out


def _dedupe(df: pd.DataFrame, key: np.ndarray, col: str, trcol: str) -> pd.DataFrame:
    """One result per lesion and visit (``key`` of each row): identical repeats collapse, different ones are
    an error."""
    dup = pd.Index(key).duplicated(keep=False)
    if not dup.any():
        return df
    d = df[dup]
    vals = d[col].astype(object).where(d[col].notna(), "<missing>")
    n = vals.groupby(key[dup]).transform("nunique")
    if (n > 1).any():
        r = d[(n > 1).to_numpy()].iloc[0]
        raise ValueError(f"TR row {r.TRROW}: {trcol} of lesion {r.TULNKID} ({r.USUBJID}, VISITNUM "
                         f"{r.VISITNUM:g}) disagrees with another TR row for the same lesion and visit")
    return df[~pd.Index(key).duplicated()].reset_index(drop=True)
