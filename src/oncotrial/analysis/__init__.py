"""Running the protocol's analysis plan on ADaM: frozen result objects, no printing or plotting.

Entry point: :func:`run_analysis` (ADaM dict + protocol -> :class:`TrialResults`);
each endpoint family also has its own function.
"""

from oncotrial.analysis.baseline import baseline_table
from oncotrial.analysis.compare import Comparison, ComparisonRow, compare_published
from oncotrial.analysis.plan import run_analysis
from oncotrial.analysis.response import analyze_binary
from oncotrial.analysis.results import (ArmRate, ArmTimeToEvent, BaselineRow, BaselineTable, BinaryAnalysis,
                                        DoseModificationSummary, FlowStep, HazardComparison, Landmark, RateDifference, SafetyAnalysis,
                                        SafetyRow, SubgroupAnalysis, SubgroupRow, TimeToEventAnalysis, TrialResults)
from oncotrial.analysis.safety import analyze_safety
from oncotrial.analysis.subgroups import analyze_subgroups
from oncotrial.analysis.survival import analyze_time_to_event

__all__ = [
    "ArmRate", "ArmTimeToEvent", "BaselineRow", "BaselineTable", "BinaryAnalysis", "Comparison", "ComparisonRow",
    "DoseModificationSummary", "FlowStep", "HazardComparison", "Landmark", "RateDifference", "SafetyAnalysis", "SafetyRow", "SubgroupAnalysis",
    "SubgroupRow", "TimeToEventAnalysis", "TrialResults", "analyze_binary", "analyze_safety", "analyze_subgroups",
    "analyze_time_to_event", "baseline_table", "compare_published", "run_analysis",
]
