"""Per-visit overall response of RECIST 1.1 (Eisenhauer et al. 2009, tables 1 and 3).

Target lesions (section 4.3.1), against the sum of diameters (SOD; nodes by short axis):

* CR: every non-nodal target 0 mm and every nodal target < 10 mm short axis;
* PR: SOD at least 30% below the baseline SOD;
* PD: SOD at least 20% above the nadir (the smallest SOD so far, baseline included)
  and at least 5 mm above it;
* SD: neither; NE: a target not measured, unless those measured already show PD.

Non-target lesions (4.3.2): CR when all ABSENT, PD on UNEQUIVOCAL PROGRESSION, NE when
any not assessed, else NON-CR/NON-PD.  A new lesion is PD.  Overall (table 1; table 3
for a patient with non-target disease only, whose best is NON-CR/NON-PD).

The numeric core works on arrays (a response as its index in RESPONSES, so comparing
responses is comparing integers); comparisons allow 1e-9 mm of floating-point error so
a decrease of exactly 30% or an increase of exactly 5 mm counts as the rule says.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from oncotrial.recist.baseline import validate_baseline
from oncotrial.recist.lesions import LesionData, baseline_visits, lesion_data

__all__ = ["RecistResult", "overall_response", "recist", "RESPONSES",
           "PR_DECREASE", "PD_INCREASE", "PD_MIN_MM", "NODAL_CR_MM"]

PR_DECREASE = 0.30
PD_INCREASE = 0.20
PD_MIN_MM = 5.0
NODAL_CR_MM = 10.0
_EPS = 1e-9
RESPONSES = ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE")
_CR, _PR, _SD, _NONCR_NONPD, _PD, _NE = range(len(RESPONSES))
_NONE = len(RESPONSES)      # no lesions of the kind
_LABELS = np.array([*RESPONSES, None], dtype=object)

_KEY = ["USUBJID", "EVAL"]


@dataclass(frozen=True)
class RecistResult:
    """The per-visit responses.

    ``visits``: one row per subject, evaluator and post-baseline visit with TRGRESP,
    NTRGRESP, NEWLES (a new lesion seen), OVRLRESP, SUMDIAM (NaN when a target was
    not measured), BASE, NADIR (before this visit), PCHG (% from baseline), PCHGNAD
    (% from nadir), and VISIT/TRDTC/TREVAL/TREVALID when TR carries them.
    ``baseline``: one row per subject and evaluator with BASEVISNUM, BASE (baseline
    SOD), NTARGET, NNONTARGET.
    """

    visits: pd.DataFrame
    baseline: pd.DataFrame
    studyid: str | None = None

    def to_frame(self) -> pd.DataFrame:
        return self.visits.copy()

    def to_rs(self) -> pd.DataFrame:
        """SDTM RS rows: RSTESTCD OVRLRESP, RSSTRESC the overall response."""
        v = self.visits
        n = len(v)
        rs = pd.DataFrame({"STUDYID": [self.studyid] * n, "DOMAIN": "RS", "USUBJID": v.USUBJID.to_numpy()})
        if "VISIT" in v.columns:
            rs["VISIT"] = v.VISIT.to_numpy()
        vn = v.VISITNUM.to_numpy(dtype=float)
        rs["VISITNUM"] = vn.astype(np.int64) if len(vn) and np.all(vn == np.round(vn)) else vn
        rs["RSTESTCD"] = "OVRLRESP"
        rs["RSTEST"] = "Overall Response"
        rs["RSCAT"] = "RECIST 1.1"
        rs["RSORRES"] = v.OVRLRESP.to_numpy()
        rs["RSSTRESC"] = v.OVRLRESP.to_numpy()
        for c in ("TREVAL", "TREVALID"):
            if c in v.columns:
                rs["RS" + c[2:]] = v[c].to_numpy()
        if "TRDTC" in v.columns:
            rs["RSDTC"] = v.TRDTC.to_numpy()
        rs["RSSEQ"] = rs.groupby("USUBJID").cumcount().to_numpy() + 1
        if self.studyid is None:
            rs = rs.drop(columns="STUDYID")
        return rs


def _target_response(n_target, n_meas, sod, base, nadir, nonnodal_max, nodal_max):
    """TRGRESP for arrays of visits: CR, PR, SD, PD, NE or _NONE (no target lesions)."""
    inc = sod - nadir
    pd_ = (n_meas > 0) & (inc >= PD_MIN_MM - _EPS) & (inc >= PD_INCREASE * nadir - _EPS)
    complete = n_meas == n_target
    cr = complete & (nonnodal_max <= _EPS) & (nodal_max < NODAL_CR_MM)
    pr = complete & (base - sod >= PR_DECREASE * base - _EPS)
    return np.select([n_target == 0, pd_, ~complete, cr, pr], [_NONE, _PD, _NE, _CR, _PR], _SD)


def _nontarget_response(n_nt, n_ass, n_absent, any_up):
    return np.select([n_nt == 0, any_up, n_ass < n_nt, n_absent == n_nt], [_NONE, _PD, _NE, _CR], _NONCR_NONPD)


def _overall(trg, ntrg, new):
    """Table 1 (with target lesions) and table 3 (non-target disease only)."""
    no_t = trg == _NONE
    no_nt = ntrg == _NONE
    conds = [
        new | (trg == _PD) | (ntrg == _PD),
        no_t & no_nt,
        no_t & (ntrg == _CR),
        no_t & (ntrg == _NONCR_NONPD),
        no_t,                                   # non-target NE
        (trg == _CR) & (no_nt | (ntrg == _CR)),
        trg == _CR,                             # non-target NON-CR/NON-PD or NE
        trg == _PR,
        trg == _SD,
    ]
    return np.select(conds, [_PD, _NE, _CR, _NONCR_NONPD, _NE, _CR, _PR, _PR, _SD], _NE)


def overall_response(data: LesionData, *, check: bool = True) -> RecistResult:
    """Per-visit target, non-target and overall response of every subject (and evaluator).

    With ``check`` (default) the baseline selection is validated first
    (:func:`oncotrial.recist.validate_baseline`), so a wrong baseline is an error
    naming the lesion, not a silently wrong response.

    Example
    -------
    >>> from oncotrial.recist import lesion_data, overall_response
    >>> res = overall_response(lesion_data(tu, tr))          # doctest: +SKIP
    >>> res.to_rs()[["USUBJID", "VISITNUM", "RSSTRESC"]]    # doctest: +SKIP
    """
    if check:
        validate_baseline(data)
    les, t, nt, new = data.lesions, data.target, data.nontarget, data.new
    base = baseline_visits(data).set_index("SID").sort_index()[_KEY + ["BASEVISNUM"]]
    counts = (les.assign(T=les.ROLE.eq("TARGET"), N=les.ROLE.eq("NON-TARGET"))
              .groupby("SID")[["T", "N"]].sum().rename(columns={"T": "NTARGET", "N": "NNONTARGET"}))
    base = base.join(counts, how="left").fillna({"NTARGET": 0, "NNONTARGET": 0})
    t_vk, nt_vk, new_vk, visits_vk = _visit_keys([t, nt, new, data.visits])
    t_vis, t_base = t.VISITNUM.to_numpy(), base.BASEVISNUM.reindex(t.SID).to_numpy()
    at_base = t_vis == t_base
    base["BASE"] = t.LDIAM[at_base].groupby(t.SID[at_base].to_numpy()).sum()
    base["BASE"] = base["BASE"].where(base.NTARGET > 0)

    # aggregates per post-baseline visit
    post = ~at_base & (t_vis > t_base)
    meas = post & t.LDIAM.notna().to_numpy()
    ld = t.LDIAM.to_numpy()[meas]
    nod = t.NODAL.to_numpy()[meas]
    tagg = pd.DataFrame({"VK": t_vk[meas], "SOD": ld, "NMEAS": 1,
                         "NONNOD": np.where(nod, 0.0, ld), "NOD": np.where(nod, ld, 0.0)})
    tagg = tagg.groupby("VK", sort=False).agg(
        SOD=("SOD", "sum"), NMEAS=("NMEAS", "sum"), NONNOD=("NONNOD", "max"), NOD=("NOD", "max"))
    npost = nt.VISITNUM.to_numpy() > base.BASEVISNUM.reindex(nt.SID).to_numpy()
    st = nt.STATE.to_numpy(dtype=object)[npost]
    nagg = pd.DataFrame({"VK": nt_vk[npost], "NASS": pd.notna(st).astype(int), "NABS": (st == "ABSENT").astype(int),
                         "UP": (st == "UNEQUIVOCAL PROGRESSION").astype(int)})
    nagg = nagg.groupby("VK", sort=False).sum()
    newpost = new.VISITNUM.to_numpy() > base.BASEVISNUM.reindex(new.SID).to_numpy()

    cols = _KEY + ["VISITNUM", "SID"]
    vis = pd.concat([t.loc[post, cols], nt.loc[npost, cols], new.loc[newpost, cols]], ignore_index=True)
    vis["VK"] = np.concatenate([t_vk[post], nt_vk[npost], new_vk[newpost]])
    # VK orders as (SID, VISITNUM), that is as (USUBJID, EVAL, VISITNUM)
    vis = vis.drop_duplicates("VK").sort_values("VK").reset_index(drop=True)
    tj = tagg.reindex(vis.VK)
    nj = nagg.reindex(vis.VK)
    bj = base.reindex(vis.SID)
    n_target = bj.NTARGET.to_numpy(dtype=float)
    n_nt = bj.NNONTARGET.to_numpy(dtype=float)
    basesod = bj.BASE.to_numpy(dtype=float)
    n_meas = np.nan_to_num(tj.NMEAS.to_numpy(dtype=float))
    sod = np.nan_to_num(tj.SOD.to_numpy(dtype=float))
    complete = (n_target > 0) & (n_meas == n_target)
    # nadir before each visit: the smallest complete SOD so far, baseline included
    s = pd.Series(np.where(complete, sod, np.inf))
    grp = pd.Series(vis.SID.to_numpy())
    prev = s.groupby(grp).cummin().groupby(grp).shift(1).fillna(np.inf).to_numpy()
    nadir = np.minimum(prev, basesod)
    trg = _target_response(n_target, n_meas, sod, basesod, nadir,
                           np.nan_to_num(tj.NONNOD.to_numpy(dtype=float)),
                           np.nan_to_num(tj.NOD.to_numpy(dtype=float)))
    ntrg = _nontarget_response(n_nt, np.nan_to_num(nj.NASS.to_numpy(dtype=float)),
                               np.nan_to_num(nj.NABS.to_numpy(dtype=float)),
                               np.nan_to_num(nj.UP.to_numpy(dtype=float)) > 0)
    newles = np.isin(vis.VK.to_numpy(), new_vk[newpost])
    out = vis.copy()
    out["TRGRESP"] = _LABELS[trg]
    out["NTRGRESP"] = _LABELS[ntrg]
    out["NEWLES"] = newles
    out["OVRLRESP"] = _LABELS[_overall(trg, ntrg, newles)]
    with np.errstate(divide="ignore", invalid="ignore"):
        sodv = np.where(complete, sod, np.nan)
        out["SUMDIAM"] = sodv
        out["BASE"] = basesod
        out["NADIR"] = np.where(n_target > 0, nadir, np.nan)
        out["PCHG"] = np.where(basesod > 0, 100.0 * (sodv - basesod) / basesod, np.nan)
        out["PCHGNAD"] = np.where(nadir > 0, 100.0 * (sodv - nadir) / nadir, np.nan)
    out = out.join(data.visits.drop(columns=_KEY + ["VISITNUM", "SID"]).set_axis(visits_vk), on="VK")
    ev = data.evaluators
    if any(k != "|" for k in ev):
        # one look-up per series, not per visit
        names = [ev.get(k, (None, None)) for k in base.EVAL.to_numpy()]
        at = base.index.get_indexer(out.SID)
        # assigned as lists so that pandas infers their dtype as it did per visit
        out["TREVAL"] = np.array([n[0] for n in names], dtype=object)[at].tolist()
        out["TREVALID"] = np.array([n[1] for n in names], dtype=object)[at].tolist()
    base = base.reset_index(drop=True)
    base["NTARGET"] = base.NTARGET.astype(int)
    base["NNONTARGET"] = base.NNONTARGET.astype(int)
    return RecistResult(out.drop(columns=["SID", "VK"]), base)


def _visit_keys(frames: list[pd.DataFrame]) -> list[np.ndarray]:
    """Each row's visit of its series, (SID, VISITNUM), as one integer ordered as the pairs are."""
    vn = [f.VISITNUM.to_numpy(dtype=float) for f in frames]
    codes, values = pd.factorize(np.concatenate(vn), sort=True, use_na_sentinel=False)
    ends = np.cumsum([len(v) for v in vn])[:-1]
    return [f.SID.to_numpy() * len(values) + c for f, c in zip(frames, np.split(codes, ends))]


def recist(tu: pd.DataFrame, tr: pd.DataFrame, *, check: bool = True) -> RecistResult:
    """RECIST 1.1 per-visit response from SDTM TU and TR (see :mod:`oncotrial.recist`).

    Example
    -------
    >>> from oncotrial.sdtm import read_domain
    >>> from oncotrial.recist import recist
    >>> rs = recist(read_domain("tu.csv"), read_domain("tr.csv")).to_rs()   # doctest: +SKIP
    """
    res = overall_response(lesion_data(tu, tr), check=check)
    studyid = None
    for df in (tr, tu):
        if "STUDYID" in df.columns and df["STUDYID"].notna().any():
            studyid = str(df["STUDYID"].dropna().iloc[0])
            break
    return RecistResult(res.visits, res.baseline, studyid)
