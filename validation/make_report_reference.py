"""Write the seeded ADaM extract and the R survival reference that tests/report/test_r_crosscheck.py reads.

    python validation/make_report_reference.py          # needs R with the survival and jsonlite packages

Steps, for each seed: reconstruct PATINA and derive its ADaM exactly as
`oncotrial reproduce patina --seed S` does; keep the columns the time-to-event
analysis uses (ADSL: USUBJID, ARMCD, ARM, STRAT1R-STRAT4R; ADTTE: PFS and OS rows
with USUBJID, PARAMCD, AVAL, CNSR) in tests/reference/report/<name>/; then run
validation/report_check.R on them into tests/reference/report/<name>_r.json.
Seed 0 is the README's `oncotrial reproduce patina --out out`.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from oncotrial.protocol import load_protocol
from oncotrial.adam import adam_from_sdtm

SEEDS = {"seeded": 20260129, "readme": 0}
ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "reference" / "report"


def write(name: str, seed: int) -> None:
    from oncotrial.sim.reconstruction import reconstruct

    p = load_protocol("patina")
    adam = adam_from_sdtm(reconstruct(p, seed=seed).sdtm, p)
    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    adsl = adam["adsl"][["USUBJID", "ARMCD", "ARM", "STRAT1R", "STRAT2R", "STRAT3R", "STRAT4R"]]
    adtte = adam["adtte"][adam["adtte"]["PARAMCD"].isin(["PFS", "OS"])][["USUBJID", "PARAMCD", "AVAL", "CNSR"]]
    adsl.to_csv(folder / "adsl.csv", index=False)
    adtte.to_csv(folder / "adtte.csv", index=False)
    subprocess.run(["Rscript", str(ROOT / "validation" / "report_check.R"), str(folder / "adtte.csv"),
                    str(folder / "adsl.csv"), str(OUT / f"{name}_r.json"), "A", "B", "48,60"], check=True)


def main() -> None:
    for name, seed in SEEDS.items():
        write(name, seed)


if __name__ == "__main__":
    main()
