"""Trial design: sample size and events (Schoenfeld, Freedman), expected event timelines
(Lachin-Foulkes), Lan-DeMets group-sequential boundaries, and batched simulation of whole trials."""

from oncotrial.design.events import (
    Accrual,
    EventTimeline,
    PiecewiseExponential,
    dropout_hazard,
    event_probability,
    expected_events_by_arm,
)
from oncotrial.design.group_sequential import (
    Characteristics,
    GroupSequentialDesign,
    characteristics,
    group_sequential_design,
)
from oncotrial.design.recursion import crossing_probabilities
from oncotrial.design.sample_size import SurvivalDesign, events_freedman, events_schoenfeld, sample_size_survival
from oncotrial.design.spending import spending, spending_hsd, spending_obf, spending_pocock

__all__ = [
    "Accrual",
    "Characteristics",
    "EventTimeline",
    "GroupSequentialDesign",
    "PiecewiseExponential",
    "SurvivalDesign",
    "characteristics",
    "crossing_probabilities",
    "dropout_hazard",
    "event_probability",
    "events_freedman",
    "events_schoenfeld",
    "expected_events_by_arm",
    "group_sequential_design",
    "sample_size_survival",
    "spending",
    "spending_hsd",
    "spending_obf",
    "spending_pocock",
]
