"""What every everyday command needs: the services over the configured database, the
person it is about, and how that person likes dates and units shown."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from groundup.cli.files import InputError
from groundup.config import Settings, get_settings
from groundup.knowledge import load_rules
from groundup.services import NotFound, Services
from groundup.storage.database import Database, DatabaseError

LB_PER_KG = 2.2046226218
CM_PER_INCH = 2.54


@cache
def services() -> Services:
    settings = get_settings()
    try:
        database = Database(settings.url)
    except DatabaseError as exc:
        raise InputError(str(exc)) from exc
    return Services(database, load_rules(), actor="cli")


def _current_file(settings: Settings) -> Path:
    return settings.data_dir / "current-person"


def remember_person(patient_id: str) -> None:
    settings = get_settings()
    path = _current_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(patient_id + "\n", encoding="utf-8")


def forget_person(patient_id: str) -> None:
    path = _current_file(get_settings())
    if path.exists() and path.read_text(encoding="utf-8").strip() == patient_id:
        path.unlink()


def person_id(explicit: str | None) -> str:
    """The person a command is about: --person, else the one last used, else the only one."""
    people = services().patients()
    if explicit:
        matches = [p for p in people if p.id == explicit or p.id.startswith(explicit)]
        if len(matches) == 1:
            return matches[0].id
        if not matches:
            raise InputError(f"--person {explicit}: no such person (`groundup people` lists them)")
        raise InputError(f"--person {explicit}: matches {len(matches)} people; give more of the id")
    path = _current_file(get_settings())
    if path.exists():
        remembered = path.read_text(encoding="utf-8").strip()
        if any(p.id == remembered for p in people):
            return remembered
    if len(people) == 1:
        return people[0].id
    if not people:
        raise InputError("nobody is enrolled yet: run `groundup start` first")
    raise InputError("several people are enrolled: choose one with --person ID (`groundup people`)")


@dataclass(frozen=True)
class Display:
    """Dates and units the way the person set them."""

    length_unit: str = "cm"
    mass_unit: str = "kg"
    date_format: str = "%Y-%m-%d"

    def date(self, day: dt.date) -> str:
        return day.strftime(self.date_format)

    def mass(self, kg: float | None) -> str:
        if kg is None:
            return ""
        if self.mass_unit == "lb":
            return f"{kg * LB_PER_KG:.1f} lb"
        return f"{kg:g} kg"

    def length(self, cm: float | None) -> str:
        if cm is None:
            return ""
        if self.length_unit == "in":
            return f"{cm / CM_PER_INCH:.1f} in"
        return f"{cm:g} cm"

    def kg_from(self, value: float) -> float:
        return round(value / LB_PER_KG, 2) if self.mass_unit == "lb" else value

    def cm_from(self, value: float) -> float:
        return round(value * CM_PER_INCH, 1) if self.length_unit == "in" else value


def display_for(patient_id: str) -> Display:
    try:
        length, mass, date_format = services().display(patient_id)
    except NotFound as exc:
        raise InputError(str(exc)) from exc
    return Display(length, mass, date_format)


def parse_date(value: str | None, display: Display | None = None) -> dt.date:
    """A date from the command line: ISO (2026-03-04), the person's own format, or today."""
    if value is None or value.strip().lower() == "today":
        return dt.date.today()
    if value.strip().lower() == "yesterday":
        return dt.date.today() - dt.timedelta(days=1)
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        pass
    if display is not None:
        try:
            return dt.datetime.strptime(value.strip(), display.date_format).date()
        except ValueError:
            pass
    raise InputError(f"date {value!r}: write it as YYYY-MM-DD (or 'today', 'yesterday')")
