"""`oncotrial recist` on the pharmaverse TU/TR reproduces RS_ONCO_RECIST's OVRLRESP exactly.

pharmaversesdtm's tu/tr/rs_onco_recist hold three evaluators per subject (two independent
radiologists and the investigator), each a separate series with its own baseline.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from oncotrial.cli import app
from oncotrial.recist import check_baseline, lesion_data, recist
from oncotrial.sdtm import read_domain

KEY = ["USUBJID", "VISITNUM", "RSEVAL", "RSEVALID"]


@pytest.fixture
def onco(pharmaverse):
    d = pharmaverse / "sdtm"
    files = {x: d / f"{x}_onco_recist.csv" for x in ("tu", "tr", "rs")}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        pytest.skip(f"pharmaverse RECIST data not present: {missing}")
    return files


def _keyed(rs: pd.DataFrame) -> pd.DataFrame:
    out = rs[rs.RSTESTCD == "OVRLRESP"][KEY + ["RSSTRESC"]].copy()
    out["VISITNUM"] = out.VISITNUM.astype(float)
    for c in ("RSEVAL", "RSEVALID"):
        out[c] = out[c].fillna("").astype(str)
    return out.sort_values(KEY).reset_index(drop=True)


def test_overall_response_equals_rs_onco_recist_for_every_subject_visit_and_evaluator(onco):
    tu, tr = read_domain(onco["tu"], domain="TU"), read_domain(onco["tr"], domain="TR")
    ref = _keyed(read_domain(onco["rs"], domain="RS"))
    got = _keyed(recist(tu, tr).to_rs())
    m = ref.merge(got, on=KEY, how="outer", suffixes=("_ref", "_ours"), indicator=True)
    assert (m._merge == "both").all(), m[m._merge != "both"]
    diff = m[m.RSSTRESC_ref != m.RSSTRESC_ours]
    assert diff.empty, diff
    assert len(m) == 66 and set(m.RSSTRESC_ref) == {"SD", "NE", "CR", "PD", "PR", "NON-CR/NON-PD"}


def test_pharmaverse_baseline_selection_follows_recist(onco):
    tu, tr = read_domain(onco["tu"], domain="TU"), read_domain(onco["tr"], domain="TR")
    assert check_baseline(lesion_data(tu, tr)) == []


def test_cli_writes_rs_and_a_json_summary(onco, tmp_path):
    out = tmp_path / "rs.csv"
    res = CliRunner().invoke(app, ["recist", str(onco["tu"]), str(onco["tr"]), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    ref = _keyed(read_domain(onco["rs"], domain="RS"))
    written = _keyed(read_domain(out, domain="RS"))
    assert summary["n_assessments"] == len(ref) == len(written)
    assert summary["responses"] == {k: int((ref.RSSTRESC == k).sum()) for k in summary["responses"]}
    assert (written.RSSTRESC.to_numpy() == ref.RSSTRESC.to_numpy()).all()


def test_cli_names_the_lesion_of_a_bad_baseline(onco, tmp_path):
    tr = read_domain(onco["tr"], domain="TR")
    first = tr.index[(tr.TRTESTCD == "LDIAM") & (tr.VISITNUM == 1)][0]
    tr.loc[first, ["TRORRES", "TRSTRESC", "TRSTRESN"]] = ["8", "8", 8.0]
    bad = tmp_path / "tr.csv"
    tr.to_csv(bad, index=False)
    res = CliRunner().invoke(app, ["recist", str(onco["tu"]), str(bad), "--out", str(tmp_path / "rs.csv")])
    assert res.exit_code == 2
    lnk, subj = tr.loc[first, "TRLNKID"], tr.loc[first, "USUBJID"]
    assert f"TR row {first + 1}: target lesion {lnk} of {subj}" in res.output and "8 mm" in res.output
    assert not (tmp_path / "rs.csv").exists()
