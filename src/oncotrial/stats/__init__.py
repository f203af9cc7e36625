"""Survival and response statistics, validated against R ``survival``.

Public API (see each function's docstring): ``km``, ``median_followup``,
``logrank``, ``cox`` (with ``cox_zph``), ``rmst``, ``rmst_diff``,
``clopper_pearson``, ``wilson``, ``prop_diff`` (Miettinen-Nurminen, optionally
stratified), ``odds_ratio``. Results are frozen dataclasses with
``to_frame()``/``to_dict()``; what cannot be estimated is NaN.
"""

from .binomial import ComparisonResult, ProportionCI, clopper_pearson, odds_ratio, prop_diff, wilson
from .cox_model import ChisqTest, CoxResult, ZphResult, cox, cox_hr, cox_zph
from .followup import FollowupResult, median_followup
from .kaplan_meier import KMResult, km
from .logrank_test import LogrankResult, logrank
from .restricted_mean import RMSTDiffResult, RMSTResult, rmst, rmst_diff

__all__ = [
    "ChisqTest", "ComparisonResult", "CoxResult", "FollowupResult", "KMResult", "LogrankResult",
    "ProportionCI", "RMSTDiffResult", "RMSTResult", "ZphResult",
    "clopper_pearson", "cox", "cox_hr", "cox_zph", "km", "logrank", "median_followup", "odds_ratio",
    "prop_diff", "rmst", "rmst_diff", "wilson",
]
