"""A published block that contradicts itself is refused, naming the figure (issue 15 §1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from oncotrial.cli import app
from oncotrial.protocol import ProtocolError, load_protocol, protocol_from_dict, protocol_path
from tests.protocol.test_protocol import patina_dict, three_arm_dict

runner = CliRunner()


def _pub(d: dict) -> dict:
    return d["published"]


def _set(section: str, **values):
    """An edit putting ``values`` into ``published.<section>`` (dotted for nested tables)."""
    def edit(d: dict) -> None:
        target = _pub(d)
        for part in section.split("."):
            target = target[part]
        target.update(values)
    return edit


def _add_landmark(d: dict) -> None:
    # 48 months: A 46.5, B 38.3 in PATINA; at 60 months A cannot be higher again.
    _pub(d)["pfs"]["landmarks"].append({"time": 60, "rate": {"A": 47.0, "B": 30.0}})


def _event(i: int, **values):
    def edit(d: dict) -> None:
        _pub(d)["safety"]["events"][i].update(values)
    return edit


@pytest.mark.parametrize("edit, message", [
    # an estimate outside its interval
    (_set("pfs", median={"A": 60.0, "B": 29.1}),
     "published.pfs.median_ci.A: median 60.0 lies outside its interval (32.4, 56.8)"),
    (_set("dor", median={"A": 44.9, "B": 20.0}),
     "published.dor.median_ci.B: median 20.0 lies outside its interval (26.0, nan)"),
    (_set("pfs", hr=0.97), "published.pfs.hr_ci: hazard ratio 0.97 lies outside its interval (0.59, 0.96)"),
    (_set("orr", rate={"A": 45.0, "B": 24.8}), "published.orr.ci.A: rate 45.0 lies outside its interval (26.9, 39.4)"),
    (_set("cbr", rate={"A": 88.9, "B": 75.0}), "published.cbr.ci.B: rate 75.0 lies outside its interval (75.6, 85.6)"),
    # an interval upside down
    (_set("pfs", median_ci={"A": [56.8, 32.4], "B": [23.3, 38.6]}),
     "published.pfs.median_ci.A: lower bound 56.8 is above upper bound 32.4"),
    (_set("os", hr_ci=[1.23, 0.61]), "published.os.hr_ci: lower bound 1.23 is above upper bound 0.61"),
    # a percentage above 100 or below 0, dicts included
    (_set("orr", rate={"A": 132.9, "B": 24.8}), "published.orr.rate.A: 132.9 is not a percentage (0 to 100)"),
    (_set("orr", ci={"A": [26.9, 139.4], "B": [19.3, 30.0]}),
     "published.orr.ci.A.upper: 139.4 is not a percentage (0 to 100)"),
    (_set("safety", grade3={"A": 179.7, "B": 30.6}), "published.safety.grade3.A: 179.7 is not a percentage (0 to 100)"),
    (_set("safety", serious={"A": 28.7, "B": -1.0}), "published.safety.serious.B: -1.0 is not a percentage (0 to 100)"),
    (_event(0, percent={"A": 155.9, "B": 2.0}),
     "published.safety.events[0].percent.A: 155.9 is not a percentage (0 to 100)"),
    (_set("pfs", landmarks=[{"time": 48, "rate": {"A": 146.5, "B": 38.3}}]),
     "published.pfs.landmarks[0].rate.A: 146.5 is not a percentage (0 to 100)"),
    (lambda d: _pub(d)["dose_modifications"][0].update(reduction=157.7),
     "published.dose_modifications[0].reduction: Input should be less than or equal to 100"),
    (_set("baseline", visceral=173.6), "published.baseline.visceral: Input should be less than or equal to 100"),
    # survival cannot rise with time, and a landmark must agree with the median
    (_add_landmark,
     "published.pfs.landmarks[1].rate.A: 47.0% at 60 is above 46.5% at 48 (landmarks[0]); "
     "a survival rate cannot rise with time"),
    (_set("pfs", landmarks=[{"time": 48, "rate": {"A": 46.5, "B": 52.0}}]),
     "published.pfs.landmarks[0].rate.B: 52.0% at 48 is above 50%, yet the median 29.1 is earlier"),
    # counts
    (_set("os", events={"A": 262, "B": 63}),
     "published.os.events.A: 262 events in an arm of 261 randomized patients (published.n_randomized.A)"),
    (_set("os", events={"A": 60, "B": -3}), "published.os.events.B: -3.0 is not a whole, non-negative number of events"),
    (_set("os", events={"A": 60.5, "B": 63}), "published.os.events.A: 60.5 is not a whole, non-negative number of events"),
    (lambda d: _pub(d).update(n_randomized={"A": 261, "B": 256.5}),
     "published.n_randomized.B: 256.5 is not a whole, non-negative number of patients"),
    (_event(2, count={"A": 300, "B": 0}),
     "published.safety.events[2].count.A: 300 patients with the event in an arm of 261 randomized patients "
     "(published.n_randomized.A)"),
    (_event(2, count={"A": 2.5, "B": 0}),
     "published.safety.events[2].count.A: 2.5 is not a whole, non-negative number of patients"),
    # an earlier cut is checked on its own
    (lambda d: d["published_earlier"][0]["pfs"].update(hr=0.5),
     "published_earlier[0].pfs.hr_ci: hazard ratio 0.5 lies outside its interval (0.58, 0.94)"),
])
def test_contradictions_name_the_figure(edit, message):
    d = patina_dict()
    edit(d)
    with pytest.raises(ProtocolError) as info:
        protocol_from_dict(d, source="mine.toml")
    assert message in str(info.value)


def test_per_arm_hazard_ratio_outside_its_interval():
    d = three_arm_dict()
    d["published"]["pfs"]["hr"]["C"] = 0.4
    with pytest.raises(ProtocolError) as info:
        protocol_from_dict(d)
    assert "published.pfs.hr_ci.C: hazard ratio 0.4 lies outside its interval (0.59, 0.96)" in str(info.value)
    assert "published.pfs.hr_ci.A" not in str(info.value)


def test_figures_not_reached_are_not_compared():
    """A nan (not reached) median or bound is never compared: a landmark below 50% beside a median
    not reached, or a median below a missing upper bound, is no contradiction."""
    d = patina_dict()
    d["published_earlier"][0]["os"]["landmarks"] = [{"time": 60, "rate": {"A": 40.0, "B": 69.8}}]
    d["published"]["dor"]["median"]["B"] = 80.0
    p = protocol_from_dict(d)
    assert p.published_earlier[0].os.landmarks[0].rate["A"] == 40.0
    assert p.published.dor.median["B"] == 80.0


def test_cli_validate_names_the_figure(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    text = protocol_path("patina").read_text()
    assert "rate = { A = 32.9, B = 24.8 }" in text
    bad.write_text(text.replace("rate = { A = 32.9, B = 24.8 }", "rate = { A = 132.9, B = 24.8 }"))
    r = runner.invoke(app, ["protocol", "validate", str(bad)])
    assert r.exit_code == 1
    assert "published.orr.rate.A: 132.9 is not a percentage (0 to 100)" in " ".join(r.output.split())
    assert "Traceback" not in r.output
