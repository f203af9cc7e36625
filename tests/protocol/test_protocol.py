"""The protocol model: PATINA loads with every public fact, and bad files give errors that name the field."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from oncotrial.cli import app
from oncotrial.protocol import ProtocolError, load_protocol, protocol_from_dict, protocol_path

runner = CliRunner()


def patina_dict() -> dict:
    return tomllib.loads(protocol_path("patina").read_text())


def test_patina_holds_the_design_facts():
    p = load_protocol("patina")
    assert p.study.id == "PATINA" and p.study.phase == "3"
    assert [a.code for a in p.arms] == ["A", "B"] and [a.ratio for a in p.arms] == [1, 1]
    palbo = p.arm("A").regimen[0]
    assert (palbo.drug, palbo.dose, palbo.days_on, palbo.days_off, palbo.cycle_length_days) == ("palbociclib", 125, 21, 7, 28)
    assert palbo.dose_levels == [125, 100, 75] and palbo.min_dose == 75
    assert "palbociclib" not in [d.drug for d in p.arm("B").regimen]
    assert [f.name for f in p.stratification_factors] == [
        "induction_response", "prior_antiher2", "endocrine_therapy", "her2_blockade"]
    assert p.factor("induction_response").levels[0].prevalence == pytest.approx(0.685)
    assert p.randomization.block_sizes == [2, 4]
    assert (p.accrual.target_n, p.accrual.randomized_n, p.accrual.n_sites, len(p.accrual.countries)) == (496, 518, 123, 8)
    assert (p.analysis.power, p.analysis.target_hr) == (0.90, 0.667)
    assert (p.schedule.interval_weeks, p.schedule.confirmation_min_weeks, p.schedule.cbr_min_sd_weeks) == (12, 4, 24)
    assert [e.id for e in p.endpoints][:1] == ["PFS"]
    assert len(p.endpoint("PFS").censoring) == 4


def test_patina_published_block_has_every_figure_of_the_report():
    pub = load_protocol("patina").published
    assert pub.median_followup == 53.5
    assert pub.n_randomized == {"A": 261, "B": 257}
    assert pub.pfs.median == {"A": 44.3, "B": 29.1}
    assert pub.pfs.median_ci == {"A": (32.4, 56.8), "B": (23.3, 38.6)}
    assert (pub.pfs.hr, pub.pfs.hr_ci, pub.pfs.p_value, pub.pfs.p_sided) == (0.75, (0.59, 0.96), 0.02, 2)
    assert pub.pfs.landmarks[0].time == 48 and pub.pfs.landmarks[0].rate == {"A": 46.5, "B": 38.3}
    assert pub.orr.rate == {"A": 32.9, "B": 24.8} and pub.orr.ci["B"] == (19.3, 30.0)
    assert pub.dor.median == {"A": 44.9, "B": 30.8} and math.isnan(pub.dor.median_ci["B"][1])
    assert pub.cbr.rate == {"A": 88.9, "B": 80.9}
    assert pub.os.events == {"A": 60, "B": 63} and pub.os.hr_ci == (0.61, 1.23)
    s = pub.safety
    assert (s.any_grade, s.grade3, s.grade4, s.serious) == (
        {"A": 100.0, "B": 94.4}, {"A": 79.7, "B": 30.6}, {"A": 10.0, "B": 3.6}, {"A": 28.7, "B": 21.8})
    terms = {(e.term, e.grade, e.min_grade) for e in s.events}
    assert ("Neutropenia", 3, None) in terms and ("Fatigue", None, 2) in terms and ("Diarrhoea", 3, None) in terms
    dm = pub.dose_modifications[0]
    assert (dm.reduction, dm.median_time_to_first_reduction, dm.discontinuation_for_ae) == (57.7, 3.2, 18.0)
    b = pub.baseline
    assert (b.age_median, b.female, b.postmenopausal, b.de_novo, b.visceral, b.cns_metastases) == (
        53.4, 99.4, 61.8, 54.4, 73.6, 3.9)
    assert [(x.factor, x.level, x.percent) for x in b.strata] == [
        ("her2_blockade", "DUAL", 94.0), ("endocrine_therapy", "AI", 90.7), ("induction_response", "CR_PR", 68.5)]
    earlier = load_protocol("patina").published_earlier[0]
    assert earlier.pfs.hr == 0.74 and earlier.os.median["B"] == 77.0 and earlier.cbr.rate["A"] == 89.3


def test_assumed_values_are_marked_in_the_file():
    text = protocol_path("patina").read_text()
    for key in ("block_sizes", "interval_weeks", "alpha", "dose_levels", "control_median_months", "information_rates",
                "alpha_spending"):
        line = next(ln for ln in text.splitlines() if ln.strip().startswith(key))
        assert "ASSUMED" in line, key


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["arms"][1]["regimen"][0].update(days_on=30),
     "arms[1].regimen[0].days_on: must be <= cycle_length_days (21)"),
    (lambda d: d["arms"][0]["regimen"][0].update(days_off=5),
     "arms[0].regimen[0].days_off: days_on (21) + days_off (5) must equal cycle_length_days (28)"),
    (lambda d: d["arms"][0]["regimen"][0].update(dose_levels=[125, 150]),
     "arms[0].regimen[0].dose_levels: must strictly decrease"),
    (lambda d: d["stratification_factors"][0]["levels"][0].update(prevalence=0.9),
     "stratification_factors[0].levels: prevalences must sum to 1"),
    (lambda d: d["analysis"].update(alpha=1.5), "analysis.alpha: Input should be less than 1"),
    (lambda d: d["analysis"].update(stratify_by=["nonsense"]), "analysis.stratify_by[0]: 'nonsense' is not a stratification factor"),
    (lambda d: d["randomization"].update(block_sizes=[3]), "randomization.block_sizes[0]: 3 is not a multiple"),
    (lambda d: d["study"].update(phasee="3"), "study.phasee: unknown setting"),
    (lambda d: d["accrual"].pop("n_sites"), "accrual.n_sites: required setting is missing"),
    (lambda d: d["accrual"].update(end="2016-01-01"), "accrual.end: must be after start (2017-06-01)"),
    (lambda d: d["published"]["pfs"]["median"].update(C=3.0), "published.pfs.median: arm 'C' is not one of the protocol's arms"),
    (lambda d: d["published"]["baseline"]["strata"][0].update(factor="her2"),
     "published.baseline.strata[0].factor: 'her2' is not a stratification factor"),
    (lambda d: d["published"]["baseline"]["strata"][1].update(level="TAMOXIFEN"),
     "published.baseline.strata[1].level: 'TAMOXIFEN' is not a level of endocrine_therapy"),
    (lambda d: d["published"]["safety"]["events"][0].pop("grade"), "published.safety.events[0]: Neutropenia: give exactly one of grade or min_grade"),
    (lambda d: d["analysis"]["interim"].update(information_rates=[0.6, 0.5, 1.0]),
     "analysis.interim.information_rates: expected strictly increasing fractions in (0, 1] ending at 1"),
    (lambda d: d["analysis"]["interim"].update(information_rates=[0.5, 0.9]),
     "analysis.interim.information_rates: expected strictly increasing fractions"),
    (lambda d: d["analysis"]["interim"].update(futility_bounds=[0.0, 0.5]),
     "analysis.interim: futility_bounds: expected one Z bound per interim look (1), got 2"),
    (lambda d: d["analysis"]["interim"].update(futility_bounds=[0.0], beta_spending="obf"),
     "analysis.interim: give futility_bounds or beta_spending, not both"),
    (lambda d: d["analysis"]["interim"].update(alpha_spending="linear"), "analysis.interim.alpha_spending"),
    (lambda d: d["analysis"]["interim"].update(max_events=0), "analysis.interim.max_events: Input should be greater than 0"),
])
def test_bad_protocols_name_the_field(edit, message):
    d = patina_dict()
    edit(d)
    with pytest.raises(ProtocolError) as info:
        protocol_from_dict(d, source="mine.toml")
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_unknown_protocol_name_lists_bundled():
    with pytest.raises(ProtocolError, match="bundled: .*patina"):
        load_protocol("no-such-trial")


def test_cli_show_text_and_json():
    r = runner.invoke(app, ["protocol", "show", "patina"])
    assert r.exit_code == 0, r.output
    assert "PATINA" in r.output and "HR 0.75 (0.59-0.96)" in r.output
    r = runner.invoke(app, ["protocol", "show", "patina", "--format", "json"])
    assert r.exit_code == 0
    data = json.loads(r.output)
    assert [f["name"] for f in data["stratification_factors"]][0] == "induction_response"
    assert data["stratification_factors"][3]["levels"] == [
        {"code": "DUAL", "label": "Dual: trastuzumab + pertuzumab", "prevalence": 0.94},
        {"code": "SINGLE", "label": "Single: trastuzumab", "prevalence": 0.06}]
    assert data["published"]["dor"]["median_ci"]["B"] == [26.0, None]


def test_cli_validate(tmp_path: Path):
    good = tmp_path / "good.toml"
    good.write_text(protocol_path("patina").read_text())
    r = runner.invoke(app, ["protocol", "validate", str(good)])
    assert r.exit_code == 0 and "valid protocol PATINA" in r.output
    bad = tmp_path / "bad.toml"
    bad.write_text(protocol_path("patina").read_text().replace("days_on = 21", "days_on = 29"))
    r = runner.invoke(app, ["protocol", "validate", str(bad)])
    assert r.exit_code == 1
    assert "arms[0].regimen[0].days_on: must be <= cycle_length_days (28)" in r.output
    broken = tmp_path / "broken.toml"
    broken.write_text("[study\n")
    r = runner.invoke(app, ["protocol", "validate", str(broken)])
    assert r.exit_code == 1 and "not valid TOML" in r.output


def _with_flags(flags):
    from oncotrial.protocol import load_protocol

    p = load_protocol("patina")
    arms = [a.model_copy(update={"experimental": f}) for a, f in zip(p.arms, flags)]
    return p.model_copy(update={"arms": arms})


@pytest.mark.parametrize("flags, expected", [
    ((True, False), ("A", "B")),
    ((False, True), ("B", "A")),
    ((False, False), ("A", "B")),   # no flag: the first arm listed
    ((True, True), ("A", "B")),     # no single flag: the first arm listed
])
def test_experimental_and_control_arm_one_rule(flags, expected):
    from oncotrial.analysis._frames import comparison_arms
    from oncotrial.design.from_protocol import _arms

    p = _with_flags(flags)
    assert (p.experimental_arm, p.control_arm) == expected
    # every stage asks the protocol: analysis and design agree with it
    assert comparison_arms(p) == expected
    assert tuple(a.code for a in _arms(p)) == expected


def three_arm_dict(control: str = "B") -> dict:
    """PATINA with a third arm C (a copy of A) and every published comparison given per experimental arm."""
    d = patina_dict()
    third = json.loads(json.dumps(d["arms"][0]))
    third.update(code="C", name="Third arm", short_name="Third")
    d["arms"].append(third)
    for a in d["arms"]:
        a["experimental"] = a["code"] != control
    d["randomization"]["block_sizes"] = [3, 6]
    experimental = [a["code"] for a in d["arms"] if a["code"] != control]
    for block in [d["published"], *d.get("published_earlier", [])]:
        for name in ("pfs", "os", "dor"):
            r = block.get(name)
            if not r:
                continue
            for fld in ("hr", "hr_ci", "p_value"):
                if fld in r:
                    r[fld] = {code: r[fld] for code in experimental}
    return d


def test_three_arms_each_experimental_arm_against_the_control():
    p = protocol_from_dict(three_arm_dict())
    assert p.comparisons == [("A", "B"), ("C", "B")]
    assert p.control_arm == "B"
    assert p.published.pfs.hr_for("C") == 0.75 and p.published.pfs.hr_ci_for("A") == (0.59, 0.96)
    with pytest.raises(ValueError, match="3 arms.*A vs B, C vs B"):
        p.experimental_arm
    # the control need not be listed last
    assert protocol_from_dict(three_arm_dict(control="A")).comparisons == [("B", "A"), ("C", "A")]


def test_two_arm_comparisons_follow_the_one_rule():
    p = load_protocol("patina")
    assert p.comparisons == [(p.experimental_arm, p.control_arm)] == [("A", "B")]
    assert p.published.pfs.hr_for("A") == p.published.pfs.hr == 0.75


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["arms"][2].update(experimental=False),
     "arms: with 3 arms, flag every arm but the control.*not flagged: \\['B', 'C'\\]"),
    (lambda d: d["published"]["pfs"].update(hr=0.7),
     "published.pfs.hr: with 3 arms give one value per experimental arm.*\\['A', 'C'\\]"),
    (lambda d: d["published"]["pfs"]["hr_ci"].update(B=[0.5, 0.9]),
     "published.pfs.hr_ci: 'B' is the control arm"),
    (lambda d: d["published"]["os"]["hr"].update(D=0.9),
     "published.os.hr: arm 'D' is not one of the protocol's arms"),
])
def test_three_arm_protocol_errors_name_the_field(edit, message):
    d = three_arm_dict()
    edit(d)
    with pytest.raises(ProtocolError, match=message):
        protocol_from_dict(d)


def test_two_arm_comparison_figures_are_single_values():
    d = patina_dict()
    d["published"]["pfs"]["hr"] = {"A": 0.75}
    with pytest.raises(ProtocolError, match="published.pfs.hr: a two-arm trial has one comparison"):
        protocol_from_dict(d)


def test_dosing_frequency_must_be_one_the_exposure_derivation_knows():
    d = patina_dict()
    d["arms"][0]["regimen"][0]["frequency"] = "every full moon"
    with pytest.raises(ProtocolError, match=r"arms\[0\]\.regimen\[0\]\.frequency.*'every full moon' is not one of"):
        protocol_from_dict(d)
    d["arms"][0]["regimen"][0]["frequency"] = "Every 8 hours"   # any case
    assert protocol_from_dict(d).arms[0].regimen[0].frequency == "Every 8 hours"


def test_only_a_control_arm_may_have_no_regimen():
    d = patina_dict()
    d["arms"][1]["regimen"] = []
    assert protocol_from_dict(d).arm("B").regimen == []
    d["arms"][0]["regimen"] = []
    with pytest.raises(ProtocolError, match="experimental arm 'A' needs at least one drug"):
        protocol_from_dict(d)


def test_a_folder_named_like_a_bundled_protocol_does_not_hide_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "patina").mkdir()
    assert load_protocol("patina").study.id == "PATINA"
    (tmp_path / "mine").mkdir()
    with pytest.raises(ProtocolError, match="is a folder, not a protocol file"):
        load_protocol("mine")
