"""The session report: a pandas DataFrame with MLonMCU's columns, its exports and display."""

from orchestrator.report.export import FORMATS, export_report
from orchestrator.report.frame import build_report
from orchestrator.report.html import write_html_reports

__all__ = ["FORMATS", "build_report", "export_report", "write_html_reports"]
