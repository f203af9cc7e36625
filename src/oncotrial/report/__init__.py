"""Assembling the report: the self-contained HTML page and the output folder of an analysis."""

from oncotrial.report.html import ReportFigures, make_figures, render_report
from oncotrial.report.outputs import comparisons_for, read_adam, write_adam, write_outputs

__all__ = ["ReportFigures", "comparisons_for", "make_figures", "read_adam", "render_report", "write_adam",
           "write_outputs"]
