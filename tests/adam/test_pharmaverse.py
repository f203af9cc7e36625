"""oncotrial.adam held against the pharmaverse ADaM (admiral / admiralonco templates).

Derived here from /work/shared/data/pharmaverse/sdtm and compared per subject with
pharmaverseadam's adsl.csv, adrs_onco.csv, adtte_onco.csv and adae.csv.  Every
difference is listed with its reason; all other subjects must agree exactly.
"""

from __future__ import annotations

import pandas as pd
import pytest

from oncotrial.adam import adae, adrs, adsl, adtte, derive_param_os, derive_var_lstalvdt
from oncotrial.sdtm import read_sdtm
from tests.conftest import PHARMAVERSE

# pharmaverse ADTTE OS was made from an ADSL whose LSTALVDT is earlier than the one in
# the shipped adsl.csv for these subjects; our OS censoring date equals adsl.csv's LSTALVDT.
OS_DIFFER = ["01-703-1258", "01-704-1009", "01-704-1017", "01-704-1266", "01-704-1332",
             "01-708-1216", "01-710-1070", "01-710-1271", "01-718-1427"]
# Died 60 and 174 days after randomization without any tumour assessment: admiral counts
# the death as a PFS event; the FDA missed-assessment rule with the pilot's 3-weekly
# schedule (2 x 21 + 7 = 49 days) censors them at randomization (CNSR 2).
PFS_FDA_DIFFER = ["01-701-1211", "01-704-1445"]


def _read(path):
    return pd.read_csv(path, keep_default_na=False, na_values=["NA"], low_memory=False)


@pytest.fixture(scope="module")
def derived():
    """Derived once per module (the ``pharmaverse`` fixture is function-scoped); skips like it."""
    if not PHARMAVERSE.is_dir():
        pytest.skip("../shared/data/pharmaverse is not present")
    pv = PHARMAVERSE
    s = read_sdtm(pv / "sdtm")
    ds = s["DS"]
    # LB is not in the shared data; the DS "FINAL LAB VISIT" record carries the last lab date.
    lab = ds[ds["DSDECOD"] == "FINAL LAB VISIT"]
    a = adsl(s["DM"], ds=ds, ex=s["EX"], ae=s["AE"], suppdm=s["SUPPDM"], lstalvdt_sources=("AE",),
             lstalvdt_extra={"LB": (lab, ["DSDTC"])})
    r = adrs(a, s["RS_ONCO_RECIST"], dataset_tu=s["TU_ONCO_RECIST"], cbr_min_days=42)
    ref = {n: _read(pv / "adam" / f"{n}.csv") for n in ("adsl", "adrs_onco", "adtte_onco", "adae")}
    return {"sdtm": s, "adsl": a, "adrs": r, "ref": ref, "lab": lab}


def _same(a: pd.Series, b: pd.Series) -> pd.Series:
    return (a == b) | (a.isna() & b.isna())


def _dates_equal(ours: pd.DataFrame, ref: pd.DataFrame, keys, variables):
    m = ours.merge(ref, on=keys, suffixes=("", "_ref"), how="outer", indicator=True)
    assert (m["_merge"] == "both").all()
    bad = {}
    for v in variables:
        ne = ~_same(m[v], pd.to_datetime(m[f"{v}_ref"]))
        if ne.any():
            bad[v] = m.loc[ne, keys].to_numpy().tolist()
    return bad


def test_adsl_equals_pharmaverse_for_all_subjects(derived):
    a, ref = derived["adsl"], derived["ref"]["adsl"]
    assert len(a) == len(ref) == 306
    assert _dates_equal(a, ref, ["USUBJID"], ["RANDDT", "TRTSDT", "TRTEDT", "DTHDT", "EOSDT", "LSTALVDT"]) == {}
    m = a.merge(ref, on="USUBJID", suffixes=("", "_ref"))
    for v in ["TRT01P", "TRT01A", "AGE", "SEX", "RACE", "ETHNIC", "EOSSTT", "TRTDURD"]:
        assert _same(m[v], m[f"{v}_ref"]).all(), v
    # pharmaverse sets population flags to Y or missing; oncotrial to Y or N.
    assert ((m["SAFFL"] == "Y") == (m["SAFFL_ref"] == "Y")).all()
    assert ((m["ITTFL"] == "Y") == m["RANDDT_ref"].notna()).all()


def test_adsl_lstalvdt_differs_only_by_the_lab_dates(derived):
    s, ref = derived["sdtm"], derived["ref"]["adsl"]
    no_lab = derive_var_lstalvdt(derived["adsl"].drop(columns="LSTALVDT"),
                                 {"AE": (s["AE"], ["AESTDTC", "AEENDTC"])})
    m = no_lab.merge(ref, on="USUBJID", suffixes=("", "_ref"))
    r = pd.to_datetime(m["LSTALVDT_ref"])
    differ = ~_same(m["LSTALVDT"], r)
    assert differ.sum() == 83
    # Without lab dates we can only be earlier, and the final lab visit date is exactly the missing date.
    assert (m.loc[differ, "LSTALVDT"].fillna(pd.Timestamp.min) < r[differ]).all()
    lab = derived["lab"].assign(D=lambda d: pd.to_datetime(d["DSDTC"].str[:10])).groupby("USUBJID")["D"].max()
    assert (m.loc[differ, "USUBJID"].map(lab).to_numpy() == r[differ].to_numpy()).all()


@pytest.mark.parametrize("ours,theirs", [("BOR", "BOR"), ("CBOR", "CBOR"), ("RSP", "RSP"), ("CRSP", "CRSP"),
                                         ("PD", "PD"), ("CBR", "CCB"), ("LSTA", "LSTA"), ("DEATH", "DEATH"),
                                         ("MDIS", "MDIS")])
def test_adrs_subject_parameters_equal_pharmaverse(derived, ours, theirs):
    r, ref = derived["adrs"], derived["ref"]["adrs_onco"]
    x = r[r["PARAMCD"] == ours][["USUBJID", "AVALC", "ADT"]]
    y = ref[ref["PARAMCD"] == theirs][["USUBJID", "AVALC", "ADT"]]
    assert len(x) == len(y) == 306
    m = x.merge(y, on="USUBJID", suffixes=("", "_ref"))
    assert _same(m["AVALC"], m["AVALC_ref"]).all(), m[~_same(m["AVALC"], m["AVALC_ref"])]
    assert _same(m["ADT"], pd.to_datetime(m["ADT_ref"])).all()
    if ours == "BOR":
        assert sorted(m["AVALC"].value_counts().items()) == [
            ("CR", 3), ("MISSING", 298), ("NE", 1), ("NON-CR/NON-PD", 1), ("PD", 1), ("PR", 1), ("SD", 1)]


def test_adrs_visit_records_equal_pharmaverse(derived):
    r, ref = derived["adrs"], derived["ref"]["adrs_onco"]
    x = r[r["PARAMCD"] == "OVR"].sort_values(["USUBJID", "ADT"]).reset_index(drop=True)
    y = ref[ref["PARAMCD"] == "OVR"].sort_values(["USUBJID", "ADT"]).reset_index(drop=True)
    assert len(x) == len(y) == 22
    assert (x["USUBJID"] == y["USUBJID"]).all() and (x["AVALC"] == y["AVALC"]).all()
    assert (x["AVAL"] == y["AVAL"]).all() and (x["ADT"] == pd.to_datetime(y["ADT"])).all()
    assert (x["ANL01FL"] == y["ANL01FL"]).all() and _same(x["ANL02FL"], y["ANL02FL"]).all()


def _tte(derived, **options):
    return adtte(derived["adsl"], derived["adrs"], **options)


def _compare(ours: pd.DataFrame, ref: pd.DataFrame, paramcd: str, ref_paramcd: str) -> pd.DataFrame:
    x = ours[ours["PARAMCD"] == paramcd]
    y = ref[ref["PARAMCD"] == ref_paramcd]
    m = x.merge(y, on="USUBJID", suffixes=("", "_ref"), how="outer", indicator=True)
    assert (m["_merge"] == "both").all()
    m["same"] = (m["AVAL"] == m["AVAL_ref"]) & ((m["CNSR"] > 0) == (m["CNSR_ref"] > 0)) & (
        m["ADT"] == pd.to_datetime(m["ADT_ref"])) & (m["STARTDT"] == pd.to_datetime(m["STARTDT_ref"]))
    return m


def test_pfs_and_dor_equal_pharmaverse_with_admiral_convention(derived):
    tte = _tte(derived, max_missed=None, dor_response="RSP")
    pfs = _compare(tte, derived["ref"]["adtte_onco"], "PFS", "PFS")
    assert len(pfs) == 254 and pfs["same"].all()
    # Each oncotrial censoring reason maps onto one admiralonco description.
    pairs = set(zip(pfs["EVNTDESC"], pfs["EVNTDESC_ref"]))
    assert pairs == {("Disease Progression", "Disease Progression"), ("Death", "Death"),
                     ("Last Adequate Tumor Assessment", "Last Tumor Assessment"),
                     ("No Post-Baseline Tumor Assessment", "Randomization")}
    dor = _compare(tte, derived["ref"]["adtte_onco"], "DOR", "RSD")
    assert len(dor) == 4 and dor["same"].all()


def test_pfs_with_fda_missed_assessment_rule_differs_by_the_listed_deaths(derived):
    tte = _tte(derived, assessment_interval_days=21, window_days=7, max_missed=2, dor_response="RSP")
    pfs = _compare(tte, derived["ref"]["adtte_onco"], "PFS", "PFS")
    differ = sorted(pfs.loc[~pfs["same"], "USUBJID"])
    assert differ == PFS_FDA_DIFFER
    d = pfs[pfs["USUBJID"].isin(PFS_FDA_DIFFER)]
    assert (d["EVNTDESC_ref"] == "Death").all() and (d["CNSR"] == 2).all() and (d["AVAL"] == 1).all()
    assert ((d["ADT_ref"].pipe(pd.to_datetime) - d["STARTDT"]).dt.days > 2 * 21 + 7).all()


def test_os_equal_pharmaverse_except_listed_subjects(derived):
    tte = _tte(derived, max_missed=None)
    os_ = _compare(tte, derived["ref"]["adtte_onco"], "OS", "OS")
    assert len(os_) == 254
    assert sorted(os_.loc[~os_["same"], "USUBJID"]) == OS_DIFFER
    d = os_[os_["USUBJID"].isin(OS_DIFFER)]
    ref_adsl = derived["ref"]["adsl"].set_index("USUBJID")
    # Both censored; ours is censored at pharmaverse ADSL's own LSTALVDT, theirs earlier.
    assert (d["CNSR"] > 0).all() and (d["CNSR_ref"] > 0).all()
    assert (d["ADT"].to_numpy() == pd.to_datetime(d["USUBJID"].map(ref_adsl["LSTALVDT"])).to_numpy()).all()
    assert (pd.to_datetime(d["ADT_ref"]) < d["ADT"]).all()
    assert derive_param_os(derived["adsl"][derived["adsl"]["RANDDT"].notna()])["CNSR"].isin([0, 1, 2]).all()


def test_adae_equals_pharmaverse(derived):
    s, a, ref = derived["sdtm"], derived["adsl"], derived["ref"]["adae"]
    x = adae(s["AE"], a)
    assert len(x) == len(ref) == 1191
    assert _dates_equal(x, ref, ["USUBJID", "AESEQ"], ["ASTDT", "AENDT"]) == {}
    m = x.merge(ref, on=["USUBJID", "AESEQ"], suffixes=("", "_ref"))
    for v in ["TRTEMFL", "ASTDTF", "ASTDY", "AENDY", "ASEVN", "AOCCIFL"]:
        assert _same(m[v], m[f"{v}_ref"]).all(), v
    assert (m["TRTEMFL"] == "Y").sum() == 1122
