"""Best overall response from lesions (RECIST 1.1 sections 4.4.3, 4.6.1, 4.6.3; table 3).

Lesions go through oncotrial.recist, the RS it writes through oncotrial.adam.adrs with
PATINA's settings (confirmation >= 4 weeks, SD >= 6 weeks after randomization), and
oncotrial.adam.best_response reads the result.  Visit v of the hand cases is dated
2024-v-01; randomization is 2024-01-01 (visit 1, baseline).
"""

from __future__ import annotations

import pandas as pd
import pytest

from oncotrial.adam import adrs, best_response, protocol_settings
from oncotrial.protocol import load_protocol
from oncotrial.recist import recist
from oncotrial.sdtm import read_domain

from tests.recist.helpers import make_case


@pytest.fixture(scope="module")
def settings():
    return protocol_settings(load_protocol("patina"))["adrs"]


def best(settings, **kw):
    tu, tr = make_case(**kw)
    rs = recist(tu, tr).to_rs()
    adsl = pd.DataFrame({"USUBJID": ["S-001"], "RANDDT": pd.to_datetime(["2024-01-01"])})
    return best_response(adrs(adsl, rs, rseval=None, **settings)).subjects.iloc[0]


def test_patina_confirms_after_4_weeks_and_counts_sd_after_6(settings):
    assert settings["confirmation_min_days"] == 28 and settings["sd_min_days"] == 42


def test_4_6_1_pr_confirmed_by_a_pr_at_least_4_weeks_later(settings):
    b = best(settings, targets={"T01": ("LIVER", [50, 30, 30])})
    assert (b.BOR, b.CBOR, b.CONFIRMED, b.UNCONFIRMED) == ("PR", "PR", "Y", None)
    assert b.RSPDT == b.CRSPDT == pd.Timestamp("2024-02-01") and pd.isna(b.PDDT)


def test_4_6_1_pr_followed_by_pd_is_an_unconfirmed_pr(settings):
    # the PR (day 31) is before the 6-week minimum for SD, so the confirmed best response is PD
    b = best(settings, targets={"T01": ("LIVER", [50, 30, 40])})
    assert (b.BOR, b.CBOR, b.CONFIRMED, b.UNCONFIRMED) == ("PR", "PD", "N", "PR")
    assert b.RSPDT == pd.Timestamp("2024-02-01") and pd.isna(b.CRSPDT) and b.PDDT == pd.Timestamp("2024-03-01")


def test_table3_cr_then_pr_confirms_a_pr_not_the_cr(settings):
    # a 4 mm reappearance after CR is PR (< 5 mm over the nadir): the CR is unconfirmed, the PR confirmed
    b = best(settings, targets={"T01": ("LIVER", [50, 0, 4, 4])})
    assert (b.BOR, b.CBOR, b.CONFIRMED, b.UNCONFIRMED) == ("CR", "PR", "Y", "CR")


def test_table3_unconfirmed_cr_after_the_sd_minimum_is_sd(settings):
    # SD at day 31, CR at day 60 not confirmed (the last visit is PD): best confirmed response SD
    b = best(settings, targets={"T01": ("LIVER", [50, 45, 0, 10])})
    assert (b.BOR, b.CBOR, b.UNCONFIRMED) == ("CR", "SD", "CR")


def test_4_6_3_sd_before_the_minimum_duration_does_not_count(settings):
    b = best(settings, targets={"T01": ("LIVER", [50, 50, 70])})
    assert (b.BOR, b.CBOR) == ("PD", "PD") and b.PDDT == pd.Timestamp("2024-03-01")


def test_4_6_3_sd_after_the_minimum_duration_counts(settings):
    b = best(settings, targets={"T01": ("LIVER", [50, 50, 50, 70])})
    assert (b.BOR, b.CBOR, b.CBORDT) == ("SD", "SD", pd.Timestamp("2024-03-01"))


def test_table2_non_target_disease_only_is_at_best_non_cr_non_pd(settings):
    b = best(settings, nontargets={"NT01": ("BONE", ["PRESENT"] * 4)})
    assert (b.BOR, b.CBOR) == ("NON-CR/NON-PD", "NON-CR/NON-PD")


def test_best_response_needs_the_adrs_parameters():
    with pytest.raises(ValueError, match="no BOR, CBOR, RSP, CRSP, PD records"):
        best_response(pd.DataFrame({"USUBJID": ["1"], "PARAMCD": ["OVR"], "AVALC": ["PR"], "ADT": [pd.NaT]}))


def test_bor_and_cbor_from_lesions_equal_pharmaverse_adrs(pharmaverse):
    """TU/TR -> oncotrial.recist -> ADRS BOR/CBOR/RSP/CRSP/PD as admiralonco derived them from RS_ONCO_RECIST."""
    files = [pharmaverse / "sdtm" / f"{x}_onco_recist.csv" for x in ("tu", "tr")] + [
        pharmaverse / "adam" / f"{x}.csv" for x in ("adsl", "adrs_onco")]
    if not all(f.is_file() for f in files):
        pytest.skip("pharmaverse RECIST/ADRS data not present")
    rs = recist(read_domain(files[0], domain="TU"), read_domain(files[1], domain="TR")).to_rs()
    ref = pd.read_csv(files[3], keep_default_na=False, na_values=["NA"], low_memory=False)
    adsl = pd.read_csv(files[2], keep_default_na=False, na_values=["NA"], usecols=["USUBJID", "RANDDT"])
    adsl = adsl[adsl.USUBJID.isin(rs.USUBJID)].assign(RANDDT=lambda d: pd.to_datetime(d.RANDDT))
    # the pharmaverse ADRS template: confirmation 28 days, SD 42 days (admiralonco's defaults)
    ours = adrs(adsl, rs, confirmation_min_days=28, sd_min_days=42, cbr_min_days=42)
    b = best_response(ours).subjects.set_index("USUBJID")
    assert len(b) == 8
    for p in ("BOR", "CBOR", "RSP", "CRSP", "PD"):
        x = ours[ours.PARAMCD == p].set_index("USUBJID")
        y = ref[(ref.PARAMCD == p) & ref.USUBJID.isin(b.index)].set_index("USUBJID")
        assert (x.AVALC.reindex(b.index) == y.AVALC.reindex(b.index)).all(), p
        assert ((pd.to_datetime(y.ADT.reindex(b.index)) == x.ADT.reindex(b.index))
                | x.ADT.reindex(b.index).isna() & y.ADT.reindex(b.index).isna()).all(), p
    assert b.BOR.value_counts().to_dict() == {"CR": 3, "PD": 1, "NON-CR/NON-PD": 1, "NE": 1, "PR": 1, "SD": 1}
    assert sorted(b.index[b.UNCONFIRMED.notna()]) == ["01-701-1015", "01-701-1115", "01-701-1133"]
