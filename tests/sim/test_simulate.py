"""The patient-level simulator: reproducibility, SDTM validity, randomization, regimen-driven dosing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oncotrial.protocol import ProtocolError, protocol_from_dict
from oncotrial.randomization import generate_permuted_blocks
from oncotrial.sdtm import read_sdtm, validate_domain
from oncotrial.sim import simulate_trial, write_trial
from oncotrial.sim.patients import strat_col


def test_same_seed_same_data(patina):
    a = simulate_trial(patina, seed=11)
    b = simulate_trial(patina, seed=11)
    c = simulate_trial(patina, seed=12)
    assert sorted(a.sdtm) == ["AE", "CM", "DM", "DS", "EX", "RS", "SUPPDM", "SV", "TR", "TU"]
    for k in a.sdtm:
        pd.testing.assert_frame_equal(a.sdtm[k], b.sdtm[k])
    assert not a.sdtm["RS"].equals(c.sdtm["RS"])


def test_sdtm_round_trips_through_the_project_reader(patina, tmp_path):
    trial = simulate_trial(patina, seed=3)
    write_trial(trial, tmp_path, formats=("csv", "xpt"))
    assert (tmp_path / "dm.xpt").is_file() and (tmp_path / "ae.csv").is_file()
    back = read_sdtm(tmp_path)
    for name, df in trial.sdtm.items():
        validate_domain(df, name, strict=True)
        assert len(back[name]) == len(df), name
    dm = back["DM"]
    assert dm["USUBJID"].is_unique and set(dm["ARMCD"]) == {"A", "B"}
    assert (dm["DTHFL"].fillna("") == "Y").sum() == dm["DTHDTC"].fillna("").ne("").sum()
    # ISO 8601 dates and CDISC names
    assert back["RS"]["RSDTC"].str.match(r"^\d{4}-\d{2}-\d{2}$").all()
    assert {"RSTESTCD", "RSSTRESC", "RSEVAL", "VISITNUM"} <= set(back["RS"].columns)
    assert set(back["RS"]["RSSTRESC"]) <= {"CR", "PR", "SD", "PD", "NE", "NON-CR/NON-PD"}


def test_randomization_consumes_each_strata_list_in_order(patina):
    """Arms come from the stratified permuted-block list (as the IRT service holds it), first rows first."""
    trial = simulate_trial(patina, seed=5)
    pts = trial.patients
    factors = list(patina.strata_levels)
    keys = pts[[strat_col(f) for f in factors]].astype(str).agg(
        lambda r: "|".join(f"{f}={v}" for f, v in zip(factors, r)), axis=1)
    assert pts["RANDDT"].is_monotonic_increasing
    list_seed = int(np.random.default_rng([5, 0x5EED]).integers(2**31 - 1))  # drawn first in simulate_trial
    al = generate_permuted_blocks(patina.strata_levels, patina.arm_codes, [1, 1], patina.randomization.block_sizes,
                                  int(keys.value_counts().max()), list_seed)
    for key, grp in pts.groupby(keys, sort=False):
        assert [r.arm for r in al.for_stratum(key)[: len(grp)]] == grp["ARMCD"].tolist(), key
    # permuted blocks of 2 and 4 keep every stratum within 2 of balance
    imb = pts.groupby(keys)["ARMCD"].apply(lambda s: abs((s == "A").sum() - (s == "B").sum()))
    assert imb.max() <= 2


def test_dosing_follows_the_regimen(patina):
    trial = simulate_trial(patina, seed=8)
    ex = trial.sdtm["EX"]
    arm = trial.sdtm["DM"].set_index("USUBJID")["ARMCD"]
    ex = ex.assign(ARMCD=ex["USUBJID"].map(arm))
    assert "PALBOCICLIB" not in set(ex.loc[ex["ARMCD"] == "B", "EXTRT"])
    pal = ex[ex["EXTRT"] == "PALBOCICLIB"]
    assert set(pal["EXDOSE"]) <= {125.0, 100.0, 75.0}
    assert ((pal["EXENDY"] - pal["EXSTDY"] + 1) <= 21).all()
    # a reduced dose never goes back up, and each reduction has an AE with DOSE REDUCED
    up = pal.groupby("USUBJID")["EXDOSE"].apply(lambda s: (s.diff() > 0).any())
    assert not up.any()
    reduced = pal.groupby("USUBJID")["EXDOSE"].min() < 125
    ae = trial.sdtm["AE"]
    with_red_ae = set(ae.loc[ae["AEACN"] == "DOSE REDUCED", "USUBJID"])
    assert set(reduced[reduced].index) <= with_red_ae
    tras = ex[ex["EXTRT"] == "TRASTUZUMAB"].groupby("USUBJID")["EXSTDY"].diff().dropna()
    assert (tras == 21).all()
    # single HER2 blockade patients get no pertuzumab
    single = trial.patients.loc[trial.patients[strat_col("her2_blockade")] == "SINGLE", "USUBJID"]
    assert not ex[ex["USUBJID"].isin(single)]["EXTRT"].eq("PERTUZUMAB").any()


def _courses(protocol, params, seeds):
    """Enrolment, efficacy course and AEs of several trials (no SDTM: the marginals live upstream of it)."""
    from oncotrial.sim.outcomes import draw_course
    from oncotrial.sim.patients import enrol
    from oncotrial.sim.safety import draw_safety
    from oncotrial.sim.trial import data_cutoff

    cut = np.datetime64(data_cutoff(protocol).isoformat(), "D")
    out = []
    for s in seeds:
        rng = np.random.default_rng([s, 1])
        pts = enrol(protocol, rng, seed=s)
        course, rs, _ = draw_course(protocol, params, pts, cut, rng)
        ae, _ = draw_safety(protocol, params, pts, course, rng)
        out.append((pts, course, ae))
    return out


def test_replicated_marginals_match_the_inputs(patina):
    """Pooled over 30 trials (fixed seeds), baseline, allocation, PFS and AE marginals equal their inputs."""
    from scipy.stats import binomtest

    from oncotrial.sim.params import default_params

    params = default_params(patina)
    sims = _courses(patina, params, range(100, 130))
    pts = pd.concat([p for p, _, _ in sims], ignore_index=True)
    course = pd.concat([c for _, c, _ in sims], ignore_index=True)
    n = len(pts)
    b = patina.baseline
    for col, value, p in (("SEX", "F", b.female), ("MENOSTAT", "POST", b.postmenopausal), ("DENOVO", "Y", b.de_novo),
                          ("VISCMET", "Y", b.visceral), ("CNSMET", "Y", b.cns_metastases),
                          (strat_col("induction_response"), "CR_PR", 0.685), (strat_col("endocrine_therapy"), "AI", 0.907)):
        k = int((pts[col] == value).sum())
        assert binomtest(k, n, p).pvalue > 0.001, (col, k / n, p)
    assert binomtest(int((pts["ARMCD"] == "A").sum()), n, 0.5).pvalue > 0.001
    assert abs(pts["AGE"].median() - b.age_median) <= 1
    # latent progression times follow each arm's curve: S at the model median is 1/2
    for a in ("A", "B"):
        t = course.loc[(pts["ARMCD"] == a).to_numpy(), "PFS_TRUE"].to_numpy()
        med = float(params.pfs[a].quantile_time(0.5))
        assert binomtest(int((t > med).sum()), t.size, 0.5).pvalue > 0.001, a
    # worst-grade incidence of a named AE term in the treated patients of each arm
    for a, term, grade, p in (("A", "Neutropenia", 3, 0.559), ("B", "Diarrhoea", 2, 0.109)):
        hits = tot = 0
        for pts_, c, ae in sims:
            rows = np.flatnonzero((pts_["ARMCD"] == a).to_numpy() & (c["TRTFL"] == "Y").to_numpy())
            hit = ae[(ae["AETERM"] == term) & (ae["AETOXGR"] == grade)]["row"]
            hits += int(np.isin(rows, hit).sum())
            tot += rows.size
        assert binomtest(hits, tot, p).pvalue > 0.001, (term, hits / tot, p)


@pytest.mark.parametrize("bad", [-1, 1.5, "x", True])
def test_bad_seed(patina, bad):
    with pytest.raises(ValueError, match="seed"):
        simulate_trial(patina, seed=bad)


def test_bad_protocol_input(patina, tmp_path):
    with pytest.raises(ValueError, match="protocol"):
        simulate_trial(42)
    with pytest.raises(ProtocolError):
        simulate_trial(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[study]\nid = 'X'\n")
    with pytest.raises(ProtocolError, match="required setting is missing"):
        simulate_trial(bad)
    with pytest.raises(ValueError, match="params"):
        simulate_trial(patina, seed=1, params={"pfs": {}})


def test_protocol_without_published_block(patina):
    from oncotrial.sim import calibrate, reconstruct

    d = patina.model_dump(mode="json")
    d.pop("published")
    d["published_earlier"] = []
    p = protocol_from_dict(d)
    t = simulate_trial(p, seed=1)
    assert len(t.sdtm["DM"]) == p.accrual.randomized_n
    with pytest.raises(ValueError, match="published"):
        reconstruct(p)
    with pytest.raises(ValueError, match="published"):
        calibrate(p)


def test_calibration_moves_the_simulation_to_the_published_figures(mini):
    """Calibrated parameters put the pooled simulated PFS medians and ORR nearer the published values."""
    from oncotrial.sim import calibrate
    from oncotrial.sim.calibration import _km_median, _observed_pfs, _pooled_courses
    from oncotrial.sim.params import default_params

    pub = mini.published

    def pooled(params):
        sims = _pooled_courses(mini, params, 12, seed=77)
        out = {}
        for a in mini.arm_codes:
            t, e = [], []
            for pts, course, rs in sims:
                m = (pts["ARMCD"] == a).to_numpy()
                tt, ee = _observed_pfs(course, rs)
                t.append(tt[m])
                e.append(ee[m])
            out[a] = _km_median(np.concatenate(t), np.concatenate(e)) / 30.4375
        return out

    before, after = pooled(default_params(mini)), pooled(calibrate(mini))
    for a in mini.arm_codes:
        target = pub.pfs.median[a]
        assert abs(after[a] - target) <= max(abs(before[a] - target), 0.6), (a, before[a], after[a], target)
        assert abs(after[a] - target) < 1.5
