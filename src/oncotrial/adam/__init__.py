"""ADaM derivations in the admiral style: one ``derive_*`` function per derivation,
parameters named for the CDISC variables they set, and dataset builders that chain
them.

>>> from oncotrial.sdtm import read_sdtm
>>> from oncotrial.adam import adsl, adrs, adtte, adae, adex
>>> s = read_sdtm("sdtm")                                             # doctest: +SKIP
>>> a = adsl(s["DM"], ds=s["DS"], ex=s["EX"], ae=s["AE"], suppdm=s.get("SUPPDM"))  # doctest: +SKIP
>>> r = adrs(a, s["RS"])                                              # doctest: +SKIP
>>> t = adtte(a, r, dataset_ex=s["EX"], extrt="PALBOCICLIB")          # doctest: +SKIP

Dates are ``datetime64[ns]``; AVAL of time-to-event parameters is in days
(ADT - STARTDT + 1).  Settings from a protocol: :func:`protocol_settings`.
Held against the pharmaverse ADaM (admiral/admiralonco) in tests/adam.
"""

from __future__ import annotations

from typing import Any

from oncotrial.adam.adverse_events import (
    adae,
    derive_var_trtemfl,
    derive_var_worst_flag,
    derive_vars_astdt_aendt,
    derive_vars_atoxgr,
)
from oncotrial.adam.exposure import adex, derive_var_exadmn, derive_vars_dose_changes, planned_daily_dose
from oncotrial.adam.response import (
    AVAL_RESP,
    adrs,
    confirmed_flags,
    derive_param_bor,
    derive_param_cbr,
    derive_param_confirmed_bor,
    derive_param_confirmed_resp,
    derive_param_death,
    derive_param_lsta,
    derive_param_mdis,
    derive_param_ovr,
    derive_param_pd,
    derive_param_rsp,
)
from oncotrial.adam.subject_level import (
    adsl,
    derive_var_dthdt,
    derive_var_ittfl,
    derive_var_lstalvdt,
    derive_var_nactdt,
    derive_var_randdt,
    derive_var_saffl,
    derive_vars_eos,
    derive_vars_strata,
    derive_vars_suppqual,
    derive_vars_trt01,
    derive_vars_trtdt,
)
from oncotrial.adam.tumor_results import adtr, derive_param_bpchg, derive_param_sdiam
from oncotrial.adam.time_to_event import (
    TTESource,
    adtte,
    censor_source,
    derive_param_dor,
    derive_param_os,
    derive_param_pfs,
    derive_param_tte,
    derive_param_ttdr,
    event_source,
)
from oncotrial.adam.best_overall_response import BestResponse, best_response
from oncotrial.adam.dates import compute_duration, convert_dtc_to_dt
from oncotrial.adam.from_sdtm import adam_from_sdtm
from oncotrial.adam.settings import protocol_settings




__all__ = [
    "AVAL_RESP",
    "BestResponse",
    "TTESource",
    "adae",
    "adam_from_sdtm",
    "adex",
    "adrs",
    "adsl",
    "adtr",
    "adtte",
    "best_response",
    "censor_source",
    "compute_duration",
    "confirmed_flags",
    "convert_dtc_to_dt",
    "derive_param_bor",
    "derive_param_cbr",
    "derive_param_confirmed_bor",
    "derive_param_confirmed_resp",
    "derive_param_death",
    "derive_param_dor",
    "derive_param_lsta",
    "derive_param_bpchg",
    "derive_param_mdis",
    "derive_param_sdiam",
    "derive_param_os",
    "derive_param_ovr",
    "derive_param_pd",
    "derive_param_pfs",
    "derive_param_rsp",
    "derive_param_ttdr",
    "derive_param_tte",
    "derive_var_dthdt",
    "derive_var_exadmn",
    "derive_var_ittfl",
    "derive_var_lstalvdt",
    "derive_var_nactdt",
    "derive_var_randdt",
    "derive_var_saffl",
    "derive_var_trtemfl",
    "derive_var_worst_flag",
    "derive_vars_astdt_aendt",
    "derive_vars_atoxgr",
    "derive_vars_dose_changes",
    "derive_vars_eos",
    "derive_vars_strata",
    "derive_vars_suppqual",
    "derive_vars_trt01",
    "derive_vars_trtdt",
    "event_source",
    "planned_daily_dose",
    "protocol_settings",
]
