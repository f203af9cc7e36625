"""Trial design: sample size and events (Schoenfeld, Freedman), expected event timelines
(Lachin-Foulkes), Lan-DeMets group-sequential boundaries, interim analyses at the observed
information (``interim_analysis``), and batched simulation of whole
trials (``oncotrial.design.simulate``).

Names are loaded on first use (PEP 562) so that the ``oncotrial`` command, which registers
the design sub-commands, does not pay for scipy at start-up.
"""

from oncotrial import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, globals(), {
    "events": ["Accrual", "EventTimeline", "PiecewiseExponential", "Weibull", "dropout_hazard", "event_probability",
               "expected_events_by_arm"],
    "group_sequential": ["Characteristics", "GroupSequentialDesign", "characteristics", "group_sequential_design"],
    "interim": ["InterimAnalysis", "interim_analysis"],
    "recursion": ["crossing_probabilities"],
    "sample_size": ["SurvivalDesign", "SurvivalPower", "events_freedman", "events_hsieh_freedman",
                    "events_schoenfeld", "power_survival", "sample_size_survival"],
    "spending_functions": ["spending", "spending_hsd", "spending_kd", "spending_obf", "spending_pocock"],
    "spending_spec": ["SpendingFunction", "parse_spending"],
})
