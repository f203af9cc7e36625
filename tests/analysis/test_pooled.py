"""The blinded (pooled) review counts what the comparative analysis counts, summed over arms."""

from __future__ import annotations

from oncotrial.analysis import run_analysis
from oncotrial.analysis.pooled import pooled_summary
from oncotrial.protocol import load_protocol
from tests.analysis.helpers import toy_adam

P = load_protocol("patina")


def test_pooled_counts_are_the_by_arm_counts_summed():
    adam = toy_adam()
    by_arm = run_analysis(adam, P)
    pooled = pooled_summary(adam, P)
    orr = by_arm.orr
    # ORR is over the plan's population (A-00 and B-00 had a complete response to induction)
    assert "excluding" in orr.population
    assert pooled.response["ORR"] == (sum(r.responders for r in orr.arms), sum(r.n for r in orr.arms)) == (6, 14)
    events = {t.endpoint: t.events for t in pooled.time_to_event}
    assert events["PFS"] == sum(a.events for a in by_arm.pfs.arms)
    assert pooled.n_randomized == 16
    assert "arm" not in str(pooled.to_dict()).lower().replace("n_randomized", "")
