"""RECIST 1.1 from lesion measurements: SDTM TU/TR in, per-visit response (RS) out.

Pure functions, no state (Eisenhauer et al., Eur J Cancer 2009;45:228-247):

>>> from oncotrial.recist import recist, check_baseline, lesion_data
>>> res = recist(tu, tr)                                   # doctest: +SKIP
>>> res.to_rs()                                            # doctest: +SKIP
>>> check_baseline(lesion_data(tu, tr))                    # doctest: +SKIP
>>> tumour_burden(res).best                                # doctest: +SKIP

Best overall response (confirmation, minimum SD duration) is derived from the RS this
writes, by :func:`oncotrial.adam.adrs` and :func:`oncotrial.adam.best_response`.
"""

from oncotrial.recist.baseline import (
    BaselineError,
    BaselineFinding,
    check_baseline,
    findings_frame,
    validate_baseline,
)
from oncotrial.recist.burden import TumourBurden, tumour_burden
from oncotrial.recist.lesions import LesionData, lesion_data
from oncotrial.recist.response import RESPONSES, RecistResult, overall_response, recist

__all__ = [
    "BaselineError",
    "BaselineFinding",
    "LesionData",
    "RESPONSES",
    "RecistResult",
    "TumourBurden",
    "check_baseline",
    "findings_frame",
    "lesion_data",
    "overall_response",
    "recist",
    "tumour_burden",
    "validate_baseline",
]
