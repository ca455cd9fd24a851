"""Printable documents: the home-program handout and the progress report, as PDF.

Both are HTML (Jinja2 templates and print.css in this package) laid out by WeasyPrint,
which is imported only when a PDF is made because it is slow to import.

    build_handout(services, patient_id, today, weeks=4) -> bytes
    build_report(services, patient_id, today, audience="person") -> bytes
"""

from groundup.documents.handout import build_handout, handout_html
from groundup.documents.layout import NoProgram
from groundup.documents.report import Audience, build_report, report_html

__all__ = [
    "Audience",
    "NoProgram",
    "build_handout",
    "build_report",
    "handout_html",
    "report_html",
]
