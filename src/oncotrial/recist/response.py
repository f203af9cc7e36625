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

The numeric core works on arrays; comparisons allow 1e-9 mm of floating-point error so
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
    """TRGRESP for arrays of visits: CR, PR, SD, PD, NE or '' (no target lesions)."""
    inc = sod - nadir
    pd_ = (n_meas > 0) & (inc >= PD_MIN_MM - _EPS) & (inc >= PD_INCREASE * nadir - _EPS)
    complete = n_meas == n_target
    cr = complete & (nonnodal_max <= _EPS) & (nodal_max < NODAL_CR_MM)
    pr = complete & (base - sod >= PR_DECREASE * base - _EPS)
    out = np.select([n_target == 0, pd_, ~complete, cr, pr], ["", "PD", "NE", "CR", "PR"], "SD")
    return out.astype(object)


def _nontarget_response(n_nt, n_ass, n_absent, any_up):
    return np.select([n_nt == 0, any_up, n_ass < n_nt, n_absent == n_nt], ["", "PD", "NE", "CR"],
                     "NON-CR/NON-PD").astype(object)


def _overall(trg, ntrg, new):
    """Table 1 (with target lesions) and table 3 (non-target disease only)."""
    no_t = trg == ""
    no_nt = ntrg == ""
    conds = [
        new | (trg == "PD") | (ntrg == "PD"),
        no_t & no_nt,
        no_t & (ntrg == "CR"),
        no_t & (ntrg == "NON-CR/NON-PD"),
        no_t,                                   # non-target NE
        (trg == "CR") & (no_nt | (ntrg == "CR")),
        trg == "CR",                            # non-target NON-CR/NON-PD or NE
        trg == "PR",
        trg == "SD",
    ]
    return np.select(conds, ["PD", "NE", "CR", "NON-CR/NON-PD", "NE", "CR", "PR", "PR", "SD"], "NE").astype(object)


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
    les, t, nt = data.lesions, data.target, data.nontarget
    base = baseline_visits(data).set_index(_KEY).sort_index()[["BASEVISNUM"]]
    counts = (les.assign(T=les.ROLE.eq("TARGET"), N=les.ROLE.eq("NON-TARGET"))
              .groupby(_KEY)[["T", "N"]].sum().rename(columns={"T": "NTARGET", "N": "NNONTARGET"}))
    base = base.join(counts, how="left").fillna({"NTARGET": 0, "NNONTARGET": 0})
    tb = t.join(base["BASEVISNUM"], on=_KEY)
    at_base = tb.VISITNUM.to_numpy() == tb.BASEVISNUM.to_numpy()
    base["BASE"] = tb[at_base].groupby(_KEY)["LDIAM"].sum()
    base["BASE"] = base["BASE"].where(base.NTARGET > 0)

    # aggregates per post-baseline visit
    post = tb[~at_base & (tb.VISITNUM.to_numpy() > tb.BASEVISNUM.to_numpy())]
    meas = post[post.LDIAM.notna()]
    ld = meas.LDIAM.to_numpy()
    nod = meas.NODAL.to_numpy()
    tagg = pd.DataFrame({"USUBJID": meas.USUBJID.to_numpy(), "EVAL": meas.EVAL.to_numpy(),
                         "VISITNUM": meas.VISITNUM.to_numpy(), "SOD": ld, "NMEAS": 1,
                         "NONNOD": np.where(nod, 0.0, ld), "NOD": np.where(nod, ld, 0.0)})
    tagg = tagg.groupby(_KEY + ["VISITNUM"], sort=False).agg(
        SOD=("SOD", "sum"), NMEAS=("NMEAS", "sum"), NONNOD=("NONNOD", "max"), NOD=("NOD", "max"))
    nb = nt.join(base["BASEVISNUM"], on=_KEY)
    npost = nb[nb.VISITNUM.to_numpy() > nb.BASEVISNUM.to_numpy()]
    st = npost.STATE.to_numpy(dtype=object)
    nagg = pd.DataFrame({"USUBJID": npost.USUBJID.to_numpy(), "EVAL": npost.EVAL.to_numpy(),
                         "VISITNUM": npost.VISITNUM.to_numpy(), "NASS": pd.notna(st).astype(int),
                         "NABS": (st == "ABSENT").astype(int), "UP": (st == "UNEQUIVOCAL PROGRESSION").astype(int)})
    nagg = nagg.groupby(_KEY + ["VISITNUM"], sort=False).sum()
    new = data.new.join(base["BASEVISNUM"], on=_KEY)
    new = new[new.VISITNUM.to_numpy() > new.BASEVISNUM.to_numpy()]
    nagg_new = new.groupby(_KEY + ["VISITNUM"], sort=False).size().rename("NNEW")

    vis = pd.concat([post[_KEY + ["VISITNUM"]], npost[_KEY + ["VISITNUM"]], new[_KEY + ["VISITNUM"]]],
                    ignore_index=True).drop_duplicates()
    vis = vis.sort_values(_KEY + ["VISITNUM"], kind="stable").reset_index(drop=True)
    idx = pd.MultiIndex.from_frame(vis)
    tj = tagg.reindex(idx)
    nj = nagg.reindex(idx)
    bj = base.reindex(pd.MultiIndex.from_frame(vis[_KEY]))
    n_target = bj.NTARGET.to_numpy(dtype=float)
    n_nt = bj.NNONTARGET.to_numpy(dtype=float)
    basesod = bj.BASE.to_numpy(dtype=float)
    n_meas = np.nan_to_num(tj.NMEAS.to_numpy(dtype=float))
    sod = np.nan_to_num(tj.SOD.to_numpy(dtype=float))
    complete = (n_target > 0) & (n_meas == n_target)
    # nadir before each visit: the smallest complete SOD so far, baseline included
    s = pd.Series(np.where(complete, sod, np.inf))
    grp = pd.Series(pd.factorize(pd.MultiIndex.from_frame(vis[_KEY]))[0])
    prev = s.groupby(grp).cummin().groupby(grp).shift(1).fillna(np.inf).to_numpy()
    nadir = np.minimum(prev, basesod)
    trg = _target_response(n_target, n_meas, sod, basesod, nadir,
                           np.nan_to_num(tj.NONNOD.to_numpy(dtype=float)),
                           np.nan_to_num(tj.NOD.to_numpy(dtype=float)))
    ntrg = _nontarget_response(n_nt, np.nan_to_num(nj.NASS.to_numpy(dtype=float)),
                               np.nan_to_num(nj.NABS.to_numpy(dtype=float)),
                               np.nan_to_num(nj.UP.to_numpy(dtype=float)) > 0)
    newles = nagg_new.reindex(idx).notna().to_numpy()
    out = vis.copy()
    out["TRGRESP"] = np.where(trg == "", None, trg)
    out["NTRGRESP"] = np.where(ntrg == "", None, ntrg)
    out["NEWLES"] = newles
    out["OVRLRESP"] = _overall(trg, ntrg, newles)
    with np.errstate(divide="ignore", invalid="ignore"):
        sodv = np.where(complete, sod, np.nan)
        out["SUMDIAM"] = sodv
        out["BASE"] = basesod
        out["NADIR"] = np.where(n_target > 0, nadir, np.nan)
        out["PCHG"] = np.where(basesod > 0, 100.0 * (sodv - basesod) / basesod, np.nan)
        out["PCHGNAD"] = np.where(nadir > 0, 100.0 * (sodv - nadir) / nadir, np.nan)
    out = out.merge(data.visits, on=_KEY + ["VISITNUM"], how="left", sort=False)
    ev = data.evaluators
    if any(k != "|" for k in ev):
        out["TREVAL"] = [ev.get(k, (None, None))[0] for k in out.EVAL]
        out["TREVALID"] = [ev.get(k, (None, None))[1] for k in out.EVAL]
    base = base.reset_index()
    base["NTARGET"] = base.NTARGET.astype(int)
    base["NNONTARGET"] = base.NNONTARGET.astype(int)
    return RecistResult(out, base)


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
