"""Tables, figures and the written summary, made from analysis results (no computing of statistics here)."""

from oncotrial.tlg.figures import consort_figure, forest_figure, km_figure, png_base64, save_png
from oncotrial.tlg.summary import results_summary
from oncotrial.tlg.tables import (baseline_frame, binary_table, comparison_table, flow_table, safety_overview_table,
                                  safety_term_table, subgroup_table, time_to_event_table, to_html)

__all__ = [
    "baseline_frame", "binary_table", "comparison_table", "consort_figure", "flow_table", "forest_figure",
    "km_figure", "png_base64", "results_summary", "safety_overview_table", "safety_term_table", "save_png",
    "subgroup_table", "time_to_event_table", "to_html",
]
