"""Write the seeded ADaM extract and the R survival reference that tests/report/test_r_crosscheck.py reads.

    python validation/make_report_reference.py          # needs R with the survival and jsonlite packages

Steps: reconstruct PATINA with a fixed seed and derive its ADaM exactly as
`oncotrial reproduce patina` does; keep the columns the time-to-event analysis
uses (ADSL: USUBJID, ARMCD, ARM, STRAT1R-STRAT4R; ADTTE: PFS and OS rows with
USUBJID, PARAMCD, AVAL, CNSR) in tests/reference/report/seeded/; then run
validation/report_check.R on them into tests/reference/report/seeded_r.json.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from oncotrial.protocol import load_protocol
from oncotrial.report.pipeline import adam_from_sdtm

SEED = 20260129
ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "reference" / "report"


def main() -> None:
    p = load_protocol("patina")
    try:
        from oncotrial.sim.reconstruct import reconstruct
        sdtm = reconstruct(p, seed=SEED).sdtm
    except ImportError:  # before reconstruction existed the seeded trial was a plain simulation
        from oncotrial.sim import simulate_trial
        sdtm = simulate_trial(p, seed=SEED).sdtm
    adam = adam_from_sdtm(sdtm, p)
    folder = OUT / "seeded"
    folder.mkdir(parents=True, exist_ok=True)
    adsl = adam["adsl"][["USUBJID", "ARMCD", "ARM", "STRAT1R", "STRAT2R", "STRAT3R", "STRAT4R"]]
    adtte = adam["adtte"][adam["adtte"]["PARAMCD"].isin(["PFS", "OS"])][["USUBJID", "PARAMCD", "AVAL", "CNSR"]]
    adsl.to_csv(folder / "adsl.csv", index=False)
    adtte.to_csv(folder / "adtte.csv", index=False)
    subprocess.run(["Rscript", str(ROOT / "validation" / "report_check.R"), str(folder / "adtte.csv"),
                    str(folder / "adsl.csv"), str(OUT / "seeded_r.json"), "A", "B", "48,60"], check=True)


if __name__ == "__main__":
    main()
