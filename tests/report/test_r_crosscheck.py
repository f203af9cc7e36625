"""The report's time-to-event numbers equal R survival's on the same ADaM.

Committed: a seeded PATINA ADaM extract (tests/reference/report/seeded/) and what
validation/report_check.R computed from it (seeded_r.json); regenerate both with
`python validation/make_report_reference.py`. Where R is installed, the check is
also run live on the ADaM an analysis has just written.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess

import pandas as pd
import pytest

from oncotrial.analysis import TrialResults, run_analysis
from tests.conftest import REFERENCE

ROOT = REFERENCE.parents[1]
SEEDED = REFERENCE / "report" / "seeded"
README = REFERENCE / "report" / "readme"


def assert_matches_r(results: TrialResults, ref: dict, rel: float = 1e-6, skip: set[str] = frozenset()) -> None:
    """Every PFS/OS figure R computed equals ours; ``skip`` names checks ("PFS A median_upper") left out."""
    def same(ours, theirs, what):
        if theirs is None:
            assert math.isnan(ours), what
        else:
            assert ours == pytest.approx(theirs, rel=rel, abs=1e-10), what

    for endpoint in ("PFS", "OS"):
        res, r = getattr(results, endpoint.lower()), ref[endpoint]
        assert res.hr_stratified == r["stratified"] and (res.n, res.events) == (r["n"], r["events"])
        for fld in ("hr", "hr_lower", "hr_upper", "logrank_chisq", "logrank_p"):
            same(getattr(res, fld), r[fld], f"{endpoint} {fld}")
        for code, ra in r["arms"].items():
            a = res.arm(code)
            assert (a.n, a.events) == (ra["n"], ra["events"])
            for fld in ("median", "median_lower", "median_upper"):
                if f"{endpoint} {code} {fld}" not in skip:
                    same(getattr(a, fld), ra[fld], f"{endpoint} {code} {fld}")
            for lm, rl in zip(a.landmarks, ra["landmarks"], strict=True):
                for fld in ("surv", "lower", "upper"):
                    same(getattr(lm, fld), rl[fld], f"{endpoint} {code} {lm.time} {fld}")
    fu = ref["median_followup"]
    same(results.median_followup, fu["median"], "median follow-up")
    same(results.median_followup_lower, fu["lower"], "median follow-up lower")
    same(results.median_followup_upper, fu["upper"], "median follow-up upper")


def test_seeded_reference_matches_r(patina):
    adam = {"adsl": pd.read_csv(SEEDED / "adsl.csv"), "adtte": pd.read_csv(SEEDED / "adtte.csv")}
    results = run_analysis(adam, patina)
    ref = json.loads((REFERENCE / "report" / "seeded_r.json").read_text())
    assert ref["strata"] == ["STRAT1R", "STRAT2R", "STRAT3R", "STRAT4R"]
    assert_matches_r(results, ref)


def readme_results(patina):
    adam = {"adsl": pd.read_csv(README / "adsl.csv"), "adtte": pd.read_csv(README / "adtte.csv")}
    return run_analysis(adam, patina), json.loads((REFERENCE / "report" / "readme_r.json").read_text())


# The README's run (`oncotrial reproduce patina`, seed 0) has a PFS arm A whose log-log
# upper confidence limit dips below 0.5 at 56.8 months and rises above it again at 74.5
# (it is not monotone): quantile.survfit takes the first crossing, 56.80, and so must we.
def test_readme_run_matches_r(patina):
    results, ref = readme_results(patina)
    assert_matches_r(results, ref)
    assert results.pfs.arm("A").median_upper == pytest.approx(ref["PFS"]["arms"]["A"]["median_upper"], rel=1e-6)


def _r_with(*packages: str) -> bool:
    """Rscript is installed and loads ``packages`` (R without jsonlite cannot run the check)."""
    if shutil.which("Rscript") is None:
        return False
    code = ";".join(f"library({p})" for p in packages)
    return subprocess.run(["Rscript", "-e", code], capture_output=True, timeout=60).returncode == 0


@pytest.mark.skipif(not _r_with("survival", "jsonlite"),
                    reason="R with survival and jsonlite is not installed (CI reads the committed reference)")
def test_written_adam_matches_r_live(analysed, tmp_path):
    job, out, _ = analysed
    target = tmp_path / "r.json"
    subprocess.run(["Rscript", str(ROOT / "validation" / "report_check.R"), str(out / "adam" / "adtte.csv"),
                    str(out / "adam" / "adsl.csv"), str(target), "A", "B", "48,60"],
                   check=True, capture_output=True, timeout=120)
    assert_matches_r(job.results, json.loads(target.read_text()))
