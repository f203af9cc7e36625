"""Where ADSL keeps the baseline characteristics the tables and subgroups use.

Sponsors name these ADSL variables differently; each characteristic lists the
names it is looked for under, first match wins. Stratification factors are
found by their levels (see ``_frames.strata_columns``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from oncotrial.analysis._frames import factor_codes, flag, strata_columns
from oncotrial.protocol import Protocol

# characteristic -> (label, candidate ADSL columns, kind); kind "flag" is a Y/N variable.
CHARACTERISTICS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "age_group": ("Age group", ("AGEGR1", "AGEGR"), "category"),
    "sex": ("Sex", ("SEX",), "category"),
    "menopausal_status": ("Menopausal status", ("MENOSTAT", "MENOPAUS", "MENOPST", "MENOSTS"), "category"),
    "postmenopausal": ("Postmenopausal", ("POSTMNFL", "POSTMEFL", "POSTMENFL"), "flag"),
    "de_novo": ("De novo metastatic disease", ("DENOVO", "DENOVOFL"), "flag"),
    "visceral_disease": ("Visceral disease", ("VISCMET", "VISCFL", "VISCERFL", "VISCERAL"), "flag"),
    "cns_metastases": ("CNS metastases", ("CNSMET", "CNSFL", "CNSMETFL"), "flag"),
    "cr_to_induction": ("Complete response to induction", ("INDCRFL", "CRINDFL", "INDUCRFL"), "flag"),
    "induction_best_response": ("Best response to induction", ("INDRESP", "INDBOR"), "category"),
    "race": ("Race", ("RACE",), "category"),
    "ecog": ("ECOG performance status", ("ECOG", "ECOGBL"), "category"),
}


def find_column(adsl: pd.DataFrame, name: str) -> str | None:
    """The ADSL column holding a characteristic, or None when absent."""
    for c in adsl.columns:
        if c.lower() == name.lower():
            return c
    for cand in CHARACTERISTICS.get(name, ("", (), ""))[1]:
        if cand in adsl.columns:
            return cand
    return None


def characteristic_values(adsl: pd.DataFrame, protocol: Protocol, name: str) -> tuple[str, pd.Series]:
    """(label, per-subject value as text indexed by USUBJID) for a factor, a characteristic or an ADSL column.

    Age group falls back to <65 / >=65 years from AGE when ADSL has no AGEGR1.
    Flags become "Yes"/"No". Raises ValueError when ADSL holds nothing for ``name``.
    """
    ids = adsl["USUBJID"].astype(str).to_numpy()
    if name in {f.name for f in protocol.stratification_factors}:
        col = strata_columns(adsl, protocol, [name])[name]
        f = protocol.factor(name)
        codes = factor_codes(adsl[col], protocol, name)
        labels = {lv.code: lv.label or lv.code for lv in f.levels}
        return f.label or name, pd.Series(codes.map(labels).to_numpy(), index=ids)
    col = find_column(adsl, name)
    label = CHARACTERISTICS.get(name, (name, (), ""))[0]
    if col is None and name == "cr_to_induction":
        # Derived from the best response to induction when there is no flag for it.
        resp = find_column(adsl, "induction_best_response")
        if resp is not None:
            s = adsl[resp]
            vals = np.where(s.isna(), None, np.where(s.astype(str).str.strip().str.upper().eq("CR"), "Yes", "No"))
            return label, pd.Series(vals, index=ids)
    if col is None and name == "age_group" and "AGE" in adsl.columns:
        age = pd.to_numeric(adsl["AGE"], errors="coerce").to_numpy()
        vals = np.where(np.isnan(age), None, np.where(age < 65, "<65 years", ">=65 years"))
        return label, pd.Series(vals, index=ids)
    if col is None:
        looked = CHARACTERISTICS.get(name, ("", (name,), ""))[1]
        raise ValueError(f"ADSL: no column for {name!r}; looked for {list(looked) or [name]}")
    kind = CHARACTERISTICS.get(name, ("", (), "category"))[2]
    s = adsl[col]
    if kind == "flag":
        vals = np.where(s.isna(), None, np.where(flag(s), "Yes", "No"))
        return label, pd.Series(vals, index=ids)
    return label, pd.Series(s.where(s.notna(), None).astype(object).map(lambda v: None if v is None else str(v)).to_numpy(),
                            index=ids)
