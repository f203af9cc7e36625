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

from oncotrial import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, globals(), {
    "baseline": ["BaselineError", "BaselineFinding", "check_baseline", "findings_frame", "validate_baseline"],
    "burden": ["TumourBurden", "tumour_burden"],
    "lesions": ["LesionData", "lesion_data"],
    "response": ["RESPONSES", "RecistResult", "overall_response", "recist"],
})
