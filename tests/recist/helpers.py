"""Hand-made TU/TR in the pharmaverse layout: visit 1 is baseline."""

from __future__ import annotations

import pandas as pd


def make_case(targets=None, nontargets=None, new=None, subject="S-001", fragments=None):
    """TU and TR frames for one subject.

    ``targets``: {lnkid: (TULOC, [mm at visit 1, 2, ...])}, None = not assessed (no TR row).
    ``nontargets``: {lnkid: (TULOC, [state at visit 1, 2, ...])}, None = not assessed.
    ``new``: {visitnum: TULOC} new lesions.
    ``fragments``: {lnkid: (TULOC, visitnum split at, [mm at that visit, the next, ...])} of split targets.
    """
    tu, tr = [], []
    for role, lesions in (("TARGET", targets or {}), ("NON-TARGET", nontargets or {})):
        for lnk, (loc, values) in lesions.items():
            tu.append({"STUDYID": "HAND", "DOMAIN": "TU", "USUBJID": subject, "TULNKID": lnk, "TULOC": loc,
                       "TUTESTCD": "TUMIDENT", "TUTEST": "Tumor Identification", "TUORRES": role,
                       "TUSTRESC": role, "VISITNUM": 1})
            for v, val in enumerate(values, start=1):
                if val is None:
                    continue
                row = {"STUDYID": "HAND", "DOMAIN": "TR", "USUBJID": subject, "TRLNKID": lnk, "VISITNUM": v,
                       "VISIT": "BASELINE" if v == 1 else f"WEEK {8 * (v - 1)}", "TRDTC": f"2024-{v:02d}-01"}
                if role == "TARGET":
                    row.update(TRGRPID="TARGET", TRTESTCD="LDIAM", TRTEST="Longest Diameter",
                               TRORRES=str(val), TRSTRESC=str(val), TRSTRESN=float(val))
                else:
                    row.update(TRGRPID="NON-TARGET", TRTESTCD="TUMSTATE", TRTEST="Tumor State",
                               TRORRES=val, TRSTRESC=val, TRSTRESN=float("nan"))
                tr.append(row)
    for lnk, (loc, v0, values) in (fragments or {}).items():
        tu.append({"STUDYID": "HAND", "DOMAIN": "TU", "USUBJID": subject, "TULNKID": lnk, "TULOC": loc,
                   "TUTESTCD": "TUMIDENT", "TUTEST": "Tumor Identification", "TUORRES": "TARGET",
                   "TUSTRESC": "TARGET", "VISITNUM": v0})
        for v, val in enumerate(values, start=v0):
            tr.append({"STUDYID": "HAND", "DOMAIN": "TR", "USUBJID": subject, "TRLNKID": lnk, "VISITNUM": v,
                       "VISIT": f"WEEK {8 * (v - 1)}", "TRDTC": f"2024-{v:02d}-01", "TRGRPID": "TARGET",
                       "TRTESTCD": "LDIAM", "TRTEST": "Longest Diameter",
                       "TRORRES": "" if val is None else str(val), "TRSTRESC": "" if val is None else str(val),
                       "TRSTRESN": float("nan") if val is None else float(val),
                       **({"TRSTAT": "NOT DONE"} if val is None else {})})
    for i, (v, loc) in enumerate((new or {}).items(), start=1):
        tu.append({"STUDYID": "HAND", "DOMAIN": "TU", "USUBJID": subject, "TULNKID": f"NEW{i:02d}", "TULOC": loc,
                   "TUTESTCD": "TUMIDENT", "TUTEST": "Tumor Identification", "TUORRES": "NEW",
                   "TUSTRESC": "NEW", "VISITNUM": v})
    tu = pd.DataFrame(tu)
    tu["TUSEQ"] = range(1, len(tu) + 1)
    tr = pd.DataFrame(tr)
    tr["TRSEQ"] = range(1, len(tr) + 1)
    return tu, tr
