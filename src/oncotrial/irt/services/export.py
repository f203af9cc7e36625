"""Randomized subjects as CDISC rows: SDTM DM and DS, and ADSL-ready columns.

The IRT knows who was randomized, where, when, to which arm and in which strata;
everything else in DM/ADSL comes from the EDC. STRATwR are the strata as randomized
(what the allocation used, fixed forever), STRATwV the verified strata after any
correction. Strata are numbered in protocol order; ``STRATw`` labels are returned by
:func:`strata_labels`.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from sqlalchemy import Connection, select

from oncotrial.irt.db.models import Randomization, Site
from oncotrial.irt.services.actors import Actor, usubjid
from oncotrial.irt.services.trial import Trial

DATASETS = ("dm", "ds", "adsl")


def _rows(conn: Connection, actor: Actor | None) -> list[Any]:
    q = (select(Randomization.subject_id, Randomization.randomization_number, Randomization.arm,
                Randomization.strata_randomized, Randomization.strata_verified,
                Randomization.randomized_at, Site.code, Site.country)
         .join(Site, Site.id == Randomization.site_id).order_by(Randomization.randomization_number))
    if actor is not None and (seen := actor.site_condition(Randomization.site_id)) is not None:
        q = q.where(seen)
    return conn.execute(q).all()


def strata_labels(trial: Trial) -> dict[str, str]:
    """``STRATw`` -> factor label, protocol order."""
    return {f"STRAT{i}": f.label for i, f in enumerate(trial.factors, start=1)}


def dm_frame(conn: Connection, trial: Trial, actor: Actor | None = None) -> pd.DataFrame:
    """SDTM DM rows (the variables the IRT knows): planned arm; RFSTDTC etc. come from the EDC."""
    records = []
    for r in _rows(conn, actor):
        arm = trial.arm(r.arm)
        records.append({"STUDYID": trial.study_id, "DOMAIN": "DM", "USUBJID": usubjid(trial.study_id, r.subject_id),
                        "SUBJID": r.subject_id, "SITEID": r.code, "COUNTRY": r.country,
                        "ARMCD": arm.code, "ARM": arm.name})
    return pd.DataFrame(records, columns=["STUDYID", "DOMAIN", "USUBJID", "SUBJID", "SITEID", "COUNTRY",
                                          "ARMCD", "ARM"])


def ds_frame(conn: Connection, trial: Trial, actor: Actor | None = None) -> pd.DataFrame:
    """SDTM DS: one RANDOMIZED protocol-milestone record per subject."""
    records = []
    for r in _rows(conn, actor):
        records.append({"STUDYID": trial.study_id, "DOMAIN": "DS", "USUBJID": usubjid(trial.study_id, r.subject_id),
                        "DSSEQ": 1, "DSTERM": "RANDOMIZED", "DSDECOD": "RANDOMIZED",
                        "DSCAT": "PROTOCOL MILESTONE", "DSSTDTC": r.randomized_at[:19]})
    return pd.DataFrame(records, columns=["STUDYID", "DOMAIN", "USUBJID", "DSSEQ", "DSTERM", "DSDECOD", "DSCAT",
                                          "DSSTDTC"])


def adsl_frame(conn: Connection, trial: Trial, actor: Actor | None = None) -> pd.DataFrame:
    """ADSL-ready columns: ARM/ARMCD, TRT01P, RANDDT, RANDNO, STRATwR and STRATwV."""
    names = trial.factor_names
    columns = (["STUDYID", "USUBJID", "SUBJID", "SITEID", "COUNTRY", "ARMCD", "ARM", "TRT01P", "RANDNO", "RANDDT"]
               + [f"STRAT{i}R" for i in range(1, len(names) + 1)] + [f"STRAT{i}V" for i in range(1, len(names) + 1)])
    records = []
    for r in _rows(conn, actor):
        arm = trial.arm(r.arm)
        rnd, ver = json.loads(r.strata_randomized), json.loads(r.strata_verified)
        rec = {"STUDYID": trial.study_id, "USUBJID": usubjid(trial.study_id, r.subject_id), "SUBJID": r.subject_id,
               "SITEID": r.code, "COUNTRY": r.country, "ARMCD": arm.code, "ARM": arm.name, "TRT01P": arm.name,
               "RANDNO": r.randomization_number, "RANDDT": r.randomized_at[:10]}
        for i, f in enumerate(names, start=1):
            rec[f"STRAT{i}R"] = rnd[f]
            rec[f"STRAT{i}V"] = ver[f]
        records.append(rec)
    frame = pd.DataFrame(records, columns=columns)
    frame["RANDNO"] = frame["RANDNO"].astype("int64")
    return frame


def export_frame(conn: Connection, trial: Trial, dataset: str, actor: Actor | None = None) -> pd.DataFrame:
    """The randomized subjects as ``dataset`` rows: every site's, or those of the sites ``actor`` sees
    (a monitor's assigned sites)."""
    if dataset not in DATASETS:
        raise ValueError(f"dataset: {dataset!r} is not exportable; expected one of {', '.join(DATASETS)}")
    return {"dm": dm_frame, "ds": ds_frame, "adsl": adsl_frame}[dataset](conn, trial, actor)


ARM_COLUMNS = ("ARMCD", "ARM", "ACTARMCD", "ACTARM", "TRT01P", "TRT01A")


def blinded_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every treatment-arm column set to BLINDED (a masked trial's blinded reader).

    >>> blinded_frame(pd.DataFrame({"USUBJID": ["1"], "ARMCD": ["A"], "ARM": ["Palbociclib"]})).to_dict("records")
    [{'USUBJID': '1', 'ARMCD': 'BLINDED', 'ARM': 'BLINDED'}]
    """
    out = frame.copy()
    for column in ARM_COLUMNS:
        if column in out.columns:
            out[column] = "BLINDED"
    return out


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    r"""The frame with text cells safe to open in a spreadsheet (OWASP CSV injection): a cell
    starting with ``=``, ``+``, ``-``, ``@``, TAB or CR gets a leading ``'`` so it is shown,
    not evaluated; NUL characters are dropped. Numbers are left as they are.

    >>> csv_safe(pd.DataFrame({"SUBJID": ["=HYPERLINK(1)", "P\x0001", "-x"], "N": [-1, 2, 3]})).to_dict("list")
    {'SUBJID': ["'=HYPERLINK(1)", 'P01', "'-x"], 'N': [-1, 2, 3]}
    """
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(_safe_cell)
    return out


def _safe_cell(value: object) -> object:
    if not isinstance(value, str):
        return value
    value = value.replace("\x00", "")
    return "'" + value if value.startswith(_FORMULA_START) else value
