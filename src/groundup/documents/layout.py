"""What both documents share: the templates, the person's details and the PDF step."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from importlib import resources

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from groundup.clinical.program import Program, mass_words
from groundup.services import NotFound, Services

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class NoProgram(NotFound):
    """The person exists but has no program yet: there is nothing to print."""


@dataclass(frozen=True)
class Person:
    """Who a document is about and how they like dates and weights shown."""

    patient_id: str
    name: str
    mass_unit: str
    date_format: str

    def date(self, day: dt.date) -> str:
        return day.strftime(self.date_format)

    def weekday_date(self, day: dt.date) -> str:
        """'Monday 23/11/2026': the weekday spelt out, the date in the person's format."""
        return f"{WEEKDAYS[day.weekday()]} {self.date(day)}"

    def mass(self, kg: float) -> str:
        return mass_words(kg, self.mass_unit)


def person(services: Services, patient_id: str) -> Person:
    """The person's name and display settings (NotFound for an unknown id)."""
    found = services.person(patient_id)  # no lengths in the documents
    return Person(
        patient_id, found.display_name, found.display.mass_unit, found.display.date_format
    )


def program_of(services: Services, patient_id: str) -> Program:
    """The program in force; NoProgram, in plain words, when there is none yet."""
    try:
        return services.program(patient_id)
    except NotFound as exc:
        if "no program" not in str(exc):
            raise
        raise NoProgram(
            "there is no program yet, so there is nothing to print: "
            "do the safety screen and the assessment first"
        ) from None


@cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("groundup.documents", "templates"),
        autoescape=select_autoescape(("html",)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def print_css() -> str:
    return (resources.files("groundup.documents") / "print.css").read_text(encoding="utf-8")


def render_html(template: str, **context: object) -> str:
    return environment().get_template(template).render(css=print_css(), **context)


def to_pdf(html: str, title: str) -> bytes:
    """Lay the HTML out on A4 pages and return the PDF."""
    import weasyprint  # type: ignore[import-untyped]  # slow: imported only to make a PDF

    document = weasyprint.HTML(string=html).render()
    document.metadata.title = title
    pdf: bytes = document.write_pdf()
    return pdf
