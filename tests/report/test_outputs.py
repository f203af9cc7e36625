"""The output folder of an analysis: every file there, self-contained HTML, valid JSON, ADaM that reads back."""

from __future__ import annotations

import json
import re

import pandas as pd
import pyreadstat
import pytest

from oncotrial.report import comparisons_for, read_adam
from oncotrial.jobs.pipeline import ANALYZE_STEPS


def test_every_output_is_written(analysed):
    job, out, steps = analysed
    for name in ("report.html", "results.json", "summary.md"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0
    figs = sorted(p.stem for p in (out / "figures").glob("*.png"))
    assert figs == ["consort", "forest_pfs", "km_dor", "km_os", "km_pfs", "spider", "waterfall"]
    for p in (out / "figures").glob("*.png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for name in ("adsl", "adtte", "adrs", "adae", "adex", "adtr"):
        assert (out / "adam" / f"{name}.csv").is_file() and (out / "adam" / f"{name}.xpt").is_file()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]  # no temporary folder left
    assert steps == list(ANALYZE_STEPS)  # the progress callback saw every step, in order


def test_results_json_holds_every_figure(analysed, patina):
    job, out, _ = analysed
    doc = json.loads((out / "results.json").read_text())
    r = doc["results"]
    assert doc["protocol"] == "PATINA"
    assert r["pfs"]["hr"] == pytest.approx(job.results.pfs.hr)
    assert r["pfs"]["arms"][0]["median"] == pytest.approx(job.results.pfs.arms[0].median)
    assert {"orr", "cbr", "dor", "os", "safety", "baseline", "subgroups", "flow"} <= set(r)
    cmp = doc["published_vs_reproduced"][0]
    assert cmp["source"].startswith("Metzger")
    assert len(cmp["rows"]) == len(comparisons_for(job.results, patina)[0].rows)
    assert "timings_seconds" in doc["run"]


def test_html_is_self_contained(analysed):
    _, out, _ = analysed
    html = (out / "report.html").read_text()
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?!data:|#)""", html)
    assert "http://" not in html and "https://" not in html
    assert html.count('src="data:image/png;base64,') == len(list((out / "figures").glob("*.png"))) == 7
    for heading in ("Patient flow", "Baseline characteristics", "Efficacy: time to event", "Subgroup analysis",
                    "Response", "Safety", "Published vs reproduced"):
        assert heading in html


def test_summary_numbers_come_from_the_results(analysed):
    job, out, _ = analysed
    text = (out / "summary.md").read_text()
    r = job.results
    for value in (r.median_followup, r.pfs.arm("A").median, r.pfs.arm("B").median_lower,
                  100 * r.orr.arm("A").rate, 100 * r.cbr.arm("B").upper, r.dor.arm("A").median):
        assert f"{value:.1f}" in text
    assert f"HR, {r.pfs.hr:.2f}" in text
    assert f"{r.os.arm('A').events} deaths" in text
    assert "nan" not in text.lower()


def test_adam_reads_back(analysed):
    job, out, _ = analysed
    adam = read_adam(out / "adam")
    adtte = adam["adtte"]
    assert set(adtte["PARAMCD"]) >= {"PFS", "OS", "DOR", "TTDR"}
    xpt, _meta = pyreadstat.read_xport(str(out / "adam" / "adtte.xpt"))
    assert len(xpt) == len(adtte)
    pfs = adtte[adtte.PARAMCD == "PFS"]
    assert len(pfs) == sum(job.results.n_randomized.values())
    assert int((pfs.CNSR == 0).sum()) == job.results.pfs.events


def test_analyze_from_the_written_adam_gives_the_same_results(analysed, tmp_path, patina):
    from oncotrial.jobs.pipeline import analyze

    job, out, _ = analysed
    again = analyze(patina, tmp_path / "again", adam=out / "adam")
    assert again.results.pfs.to_dict() == job.results.pfs.to_dict()
    assert again.results.orr.to_dict() == job.results.orr.to_dict()
    assert not (tmp_path / "again" / "adam").exists()  # ADaM given as input is not rewritten


def test_bad_input_writes_nothing(tmp_path, patina):
    from oncotrial.jobs.pipeline import analyze

    (tmp_path / "adam").mkdir()
    pd.DataFrame({"USUBJID": ["1"], "ARMCD": ["A"]}).to_csv(tmp_path / "adam" / "adsl.csv", index=False)
    with pytest.raises(ValueError, match="must hold adsl.csv and adtte.csv"):
        analyze(patina, tmp_path / "out", adam=tmp_path / "adam")
    pd.DataFrame({"USUBJID": ["1"], "PARAMCD": ["PFS"], "AVAL": [-3], "CNSR": [0]}).to_csv(
        tmp_path / "adam" / "adtte.csv", index=False)
    with pytest.raises(ValueError, match="AVAL '-3"):
        analyze(patina, tmp_path / "out", adam=tmp_path / "adam")
    assert not (tmp_path / "out").exists()
