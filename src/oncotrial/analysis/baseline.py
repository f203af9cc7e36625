"""The baseline characteristics table (ITT population, by randomized arm and in total)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from oncotrial.analysis._frames import arm_of, arm_order
from oncotrial.analysis.characteristics import characteristic_values, find_column
from oncotrial.analysis.results import BaselineRow, BaselineTable
from oncotrial.protocol import Protocol

ROWS = ("sex", "menopausal_status", "postmenopausal", "de_novo", "visceral_disease", "cns_metastases",
        "induction_best_response", "cr_to_induction", "ecog", "race")


def baseline_table(adsl: pd.DataFrame, protocol: Protocol) -> BaselineTable:
    """Age (median, range) and the share of each level of each characteristic ADSL holds.

    Characteristics: age, the protocol's stratification factors, then those of
    ``ROWS`` that ADSL has a column for. Percentages are of the arm's randomized
    subjects (missing values included in the denominator). Columns: every arm of
    ``arm_order``, then "Total".

    Example
    -------
    >>> t = baseline_table(adsl, load_protocol("patina"))   # doctest: +SKIP
    >>> t.value("Age (years)", "", "Total")["median"]        # doctest: +SKIP
    """
    arms = arm_of(adsl, protocol)
    groups = {code: arms.index[arms == code] for code in arm_order(protocol)}
    groups["Total"] = arms.index
    n = {k: int(len(v)) for k, v in groups.items()}
    rows: list[BaselineRow] = []
    if "AGE" in adsl.columns:
        age = pd.Series(pd.to_numeric(adsl["AGE"], errors="coerce").to_numpy(), index=adsl["USUBJID"].astype(str))
        vals = {}
        for k, ids in groups.items():
            x = age.reindex(ids).dropna().to_numpy()
            vals[k] = {"median": float(np.median(x)) if len(x) else float("nan"),
                       "min": float(x.min()) if len(x) else float("nan"),
                       "max": float(x.max()) if len(x) else float("nan")}
        rows.append(BaselineRow("Age (years)", "", "median", vals))
    names = [f.name for f in protocol.stratification_factors] + [r for r in ROWS if find_column(adsl, r)]
    for name in names:
        try:
            label, v = characteristic_values(adsl, protocol, name)
        except ValueError:
            continue  # a factor this ADSL does not carry: a descriptive table shows what there is
        levels = [lv.label or lv.code for lv in protocol.factor(name).levels] if name in {
            f.name for f in protocol.stratification_factors} else sorted(v.dropna().unique(), key=str)
        if set(levels) == {"Yes", "No"} or levels == ["Yes"] or levels == ["No"]:
            levels = ["Yes"]
        for lev in levels:
            vals = {}
            for k, ids in groups.items():
                c = int((v.reindex(ids) == lev).sum())
                vals[k] = {"n": c, "percent": 100.0 * c / n[k] if n[k] else float("nan")}
            rows.append(BaselineRow(label, str(lev), "count", vals))
    return BaselineTable(n=n, rows=tuple(rows))
