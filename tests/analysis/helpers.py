"""Shared test material: a two-arm protocol for the pharmaverse pilot study, small hand-made ADaM."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd

from oncotrial.protocol import Protocol, protocol_from_dict, protocol_path


def pilot_protocol(**analysis) -> Protocol:
    """PATINA's plan applied to CDISCPILOT01's two outer arms (high-dose xanomeline vs placebo).

    The pilot study has no stratification factors and no published block, so the
    analysis is unstratified and there is nothing to compare with.
    """
    d = tomllib.loads(protocol_path("patina").read_text())
    d["arms"][0].update(code="Xan_Hi", name="Xanomeline High Dose", short_name="Xanomeline high")
    d["arms"][1].update(code="Pbo", name="Placebo", short_name="Placebo")
    d["randomization"]["stratify_by"] = []
    d["stratification_factors"] = []
    d["analysis"].update(stratify_by=[], hr_model="cox", primary_test="logrank", landmark_months=[1, 2],
                         subgroups=["age_group", "sex"])
    d["analysis"].update(analysis)
    d.pop("published")
    d.pop("published_earlier")
    d.pop("edc", None)  # the pilot study collected no data through PATINA's eCRFs
    return protocol_from_dict(d)


def read_pharmaverse(root: Path) -> dict[str, pd.DataFrame]:
    """The pilot ADaM restricted to the two compared arms (the low dose is a third arm of that study)."""
    def read(name: str) -> pd.DataFrame:
        return pd.read_csv(root / "adam" / name, keep_default_na=False, na_values=["", "NA"], low_memory=False)

    adsl = read("adsl.csv")
    keep = adsl["ARMCD"].isin(["Xan_Hi", "Pbo", "Scrnfail"])
    ids = set(adsl.loc[keep, "USUBJID"])
    out = {"adsl": adsl[keep].reset_index(drop=True)}
    for key, name in (("adtte", "adtte_onco.csv"), ("adrs", "adrs_onco.csv"), ("adae", "adae.csv")):
        df = read(name)
        out[key] = df[df["USUBJID"].isin(ids)].reset_index(drop=True)
    return out


def toy_adsl(n_per_arm: int = 6) -> pd.DataFrame:
    """Hand-made ADSL: arms A/B of PATINA, strata in STRAT1R..STRAT4R, a few baseline variables."""
    rows = []
    for arm in ("A", "B"):
        for i in range(n_per_arm):
            rows.append({"USUBJID": f"{arm}-{i:02d}", "ARMCD": arm, "ARM": arm, "ACTARMCD": arm, "SAFFL": "Y",
                         "AGE": 40 + 5 * i, "SEX": "F",
                         "STRAT1R": "CR_PR" if i % 2 == 0 else "SD", "STRAT2R": "NO", "STRAT3R": "AI",
                         "STRAT4R": "DUAL", "MENOSTAT": "POST" if i % 3 else "PRE",
                         "INDRESP": "CR" if i == 0 else ("PR" if i % 2 == 0 else "SD")})
    return pd.DataFrame(rows)


def toy_adam(n: int = 8) -> dict[str, pd.DataFrame]:
    """Hand-made ADSL, ADTTE (PFS, OS) and ADRS (CBOR) of ``n`` patients per arm."""
    adsl = toy_adsl(n)
    ids = adsl["USUBJID"]
    tte = []
    for code, scale in (("PFS", 300.0), ("OS", 900.0)):
        tte.append(pd.DataFrame({"USUBJID": ids, "PARAMCD": code, "AVAL": [scale + 37.0 * i for i in range(len(ids))],
                                 "CNSR": [i % 3 == 0 for i in range(len(ids))]}).astype({"CNSR": int}))
    adrs = pd.DataFrame({"USUBJID": ids, "PARAMCD": "CBOR", "AVALC": ["PR", "SD", "CR", "PD"] * (len(ids) // 4)})
    return {"adsl": adsl, "adtte": pd.concat(tte, ignore_index=True), "adrs": adrs}
