"""Reading posted forms: the one place the pages turn form fields into values and errors.

Every form post has already passed `deps.check_form` (the CSRF token, storable text).
Then a page reads its fields here, in one of two ways that share these tools:

- field by field with `FormCheck` (the person's pages): each answer is checked as it is
  read, with plain messages, and what was typed is kept to show again;
- as a whole into a clinical model (the clinician's pages): the fields are gathered with
  `first` and `put`, the model validates them, and `field_errors` puts its complaints
  beside the fields in precise words; `posted` keeps everything that was sent.

Either way the page comes back with status 400, the values kept and each problem beside
its field; a bad value is never a crash.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import ValidationError
from starlette.datastructures import FormData

T = TypeVar("T")
N = TypeVar("N", int, float)


def first(form: FormData, key: str) -> str:
    """The field's text, stripped; empty when it is missing or is a file."""
    value = form.get(key)
    return str(value).strip() if isinstance(value, str) else ""


def posted(form: FormData) -> dict[str, list[str]]:
    """Everything the form sent (but its CSRF token), to fill the form in again."""
    return {key: [str(v) for v in form.getlist(key)] for key in form if key != "csrf"}


def put(data: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted field name (`pain.at_rest`) in nested model data."""
    keys = path.split(".")
    for key in keys[:-1]:
        data = data.setdefault(key, {})
    data[keys[-1]] = value


def validation_message(error: Mapping[str, Any]) -> str:
    """One of a model's validation errors in the clinician's words."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "required"
    if kind in ("less_than_equal", "less_than"):
        return f"at most {ctx.get('le', ctx.get('lt'))}"
    if kind in ("greater_than_equal", "greater_than"):
        limit = ctx.get("ge", ctx.get("gt"))
        return f"at least {limit}" if kind == "greater_than_equal" else f"more than {limit}"
    if kind in ("int_parsing", "int_from_float"):
        return "a whole number"
    if kind == "float_parsing":
        return "a number"
    if kind in ("enum", "literal_error"):
        return "choose one of the options"
    if kind == "string_too_short":
        return f"at least {ctx.get('min_length')} characters"
    if kind == "string_too_long":
        return f"at most {ctx.get('max_length')} characters"
    if kind == "date_from_datetime_parsing" or kind.startswith("date"):
        return "a date (YYYY-MM-DD)"
    message = str(error.get("msg", "not valid"))
    return message.removeprefix("Value error, ")


def field_errors(exc: ValidationError, prefix: str = "") -> dict[str, str]:
    """A model's validation errors by form field (`prefix` + the dotted location)."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        parts = [str(p) for p in error.get("loc", ()) if not str(p).startswith("function-")]
        # Union branches (float | str) add a type name to the location: drop it.
        parts = [p for p in parts if p not in ("float", "str", "int")]
        key = prefix + ".".join(parts) if parts else prefix.rstrip(".") or "form"
        errors.setdefault(key, validation_message(error))
    return errors


def _words(value: float) -> str:
    return f"{value:g}"


@dataclass
class FormCheck:
    """Reads a posted form field by field, keeping what was typed and what was wrong."""

    form: FormData
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def raw(self, name: str) -> str:
        text = first(self.form, name)
        self.values[name] = text
        return text

    def many(self, name: str) -> list[str]:
        chosen = [v for v in self.form.getlist(name) if isinstance(v, str)]
        self.values[name] = chosen
        return chosen

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def whole(self, name: str, low: float, high: float, *, required: bool = True) -> int | None:
        return self._in_range(name, low, high, int, "a whole number", required=required)

    def number(self, name: str, low: float, high: float, *, required: bool = True) -> float | None:
        return self._in_range(
            name,
            low,
            high,
            lambda text: float(text.replace(",", ".")),
            "a number",
            required=required,
        )

    def _in_range(
        self,
        name: str,
        low: float,
        high: float,
        parse: Callable[[str], N],
        kind: str,
        *,
        required: bool,
    ) -> N | None:
        """A number typed in (`parse` reads it), from `low` to `high`."""
        text = self.raw(name)
        if not text:
            if required:
                self.fail(name, "an answer is needed here")
            return None
        try:
            value = parse(text)
        except ValueError:
            self.fail(name, f"type {kind} from {_words(low)} to {_words(high)}")
            return None
        if (isinstance(value, float) and not math.isfinite(value)) or not low <= value <= high:
            self.fail(name, f"give a number from {_words(low)} to {_words(high)}")
            return None
        return value

    def choice(
        self, name: str, options: Mapping[str, T], what: str, *, required: bool = True
    ) -> T | None:
        text = self.raw(name)
        if text in options:
            return options[text]
        if text or required:
            self.fail(name, f"choose {what}")
        return None

    def yes_no(self, name: str, *, required: bool = True) -> bool | None:
        return self.choice(name, {"yes": True, "no": False}, "yes or no", required=required)

    def text(self, name: str, *, most: int, least: int = 0) -> str:
        value = self.raw(name)
        if value and not least <= len(value) <= most:
            self.fail(name, f"write {least} to {most} characters")
        return value

    def adopt(self, error: ValidationError, prefix: str = "", known: Iterable[str] = ()) -> None:
        """Put a model's validation errors beside the fields they concern."""
        names = set(known) | set(self.values)
        for problem in error.errors():
            parts = [str(p) for p in problem.get("loc", ())]
            message = str(problem.get("msg", "not valid")).removeprefix("Value error, ")
            while parts and f"{prefix}{'.'.join(parts)}" not in names:
                parts.pop()
            self.fail(f"{prefix}{'.'.join(parts)}" if parts else "form", message)
