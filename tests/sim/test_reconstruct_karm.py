"""Reconstruction of a three-arm trial: the bundled COLON protocol (Intergroup 0035; OBS control, LEV, LEV5FU)."""

from __future__ import annotations

import numpy as np

from oncotrial.protocol import load_protocol
from oncotrial.sim.figures import published_figures

# built by exact assignment or by the search of every comparison's HR: must round to the published value
EXACT_COLON = [
    *[("randomized (n)", a) for a in ("OBS", "LEV", "LEV5FU")], ("median follow-up (months)", ""),
    *[(f, a) for f in ("PFS median (months)", "PFS median lower CI", "PFS median upper CI") for a in ("OBS", "LEV")],
    *[(f"PFS rate at {m} months (%)", a) for m in (36, 60) for a in ("OBS", "LEV")],
    *[(f, a) for f in ("PFS HR", "PFS HR lower CI", "PFS HR upper CI") for a in ("LEV", "LEV5FU")],
    ("PFS median (months)", "LEV5FU"), ("OS median (months)", "LEV5FU"),   # not reached (NaN) as published
    *[("OS events (n)", a) for a in ("OBS", "LEV", "LEV5FU")],
    ("baseline female (%)", ""), ("baseline node4=YES (%)", ""),
]


def test_every_published_figure_of_each_comparison_is_in_the_table(colon_reconstruction):
    comp = colon_reconstruction.comparison
    pub = published_figures(load_protocol("colon"))
    assert set(zip(comp["figure"], comp["arm"])) == set(zip(pub["figure"], pub["arm"]))
    # one HR row per experimental arm against the control, none for the control itself
    hr_rows = comp[comp["figure"] == "OS HR"]
    assert sorted(hr_rows["arm"]) == ["LEV", "LEV5FU"]


def test_three_arm_figures_within_rounding_or_explained(colon_reconstruction):
    comp = colon_reconstruction.comparison.set_index(["figure", "arm"])
    missed = [k for k in EXACT_COLON if not comp.loc[k, "within_rounding"]]
    assert not missed, comp.loc[missed, ["published", "reproduced"]]
    off = comp[~comp["within_rounding"]]
    assert (off["note"].str.len() > 0).all(), off


def test_observation_arm_is_untreated(colon_reconstruction):
    sdtm = colon_reconstruction.sdtm
    arm = sdtm["DM"].set_index("USUBJID")["ARMCD"]
    treated = arm.reindex(sdtm["EX"]["USUBJID"].unique())
    assert set(treated) == {"LEV", "LEV5FU"}
    assert int((arm == "OBS").sum()) == 315


def test_pairwise_hazard_ratios_use_the_two_arms_only(colon_reconstruction):
    """The reproduced HR of LEV5FU is the stratified Cox fit on the OBS and LEV5FU patients of ADTTE alone."""
    from oncotrial.adam import adam_from_sdtm
    from oncotrial.stats import cox_hr

    protocol = load_protocol("colon")
    adam = adam_from_sdtm(colon_reconstruction.sdtm, protocol)
    arm = adam["adsl"].set_index("USUBJID")["ARMCD"]
    d = adam["adtte"][adam["adtte"]["PARAMCD"] == "PFS"]
    d = d.assign(ARMCD=arm.reindex(d["USUBJID"]).to_numpy())
    pair = d[d["ARMCD"].isin(["OBS", "LEV5FU"])]
    strata = colon_reconstruction.patients.set_index("USUBJID")["STRAT_node4"].astype(str)
    hr, lo, hi = cox_hr(pair["AVAL"].to_numpy(float), (pair["CNSR"] == 0).to_numpy(float),
                        (pair["ARMCD"] == "LEV5FU").to_numpy(float), strata.reindex(pair["USUBJID"]).to_numpy())
    comp = colon_reconstruction.comparison.set_index(["figure", "arm"])
    assert np.isclose(comp.loc[("PFS HR", "LEV5FU"), "reproduced"], hr, rtol=1e-10)
    assert np.isclose(comp.loc[("PFS HR upper CI", "LEV5FU"), "reproduced"], hi, rtol=1e-10)


def test_only_the_baseline_characteristics_the_protocol_declares(colon_reconstruction, patina_reconstruction):
    # COLON declares age and sex only: its patients get no menopausal status or metastasis sites
    colon_q = set(colon_reconstruction.sdtm["SUPPDM"]["QNAM"])
    assert colon_q.isdisjoint({"MENOSTAT", "DENOVO", "VISCMET", "CNSMET"}), colon_q
    assert "STRAT1R" in colon_q
    patina_q = set(patina_reconstruction.sdtm["SUPPDM"]["QNAM"])
    assert {"MENOSTAT", "DENOVO", "VISCMET", "CNSMET"} <= patina_q
