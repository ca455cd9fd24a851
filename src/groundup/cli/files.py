"""Reading the files people hand to the command line: YAML or JSON, checked with care."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from groundup.clinical.text import clean_text, first_unstorable
from groundup.knowledge import describe_validation_error

M = TypeVar("M", bound=BaseModel)

MAX_INPUT_BYTES = 5 * 1024 * 1024
MAX_NESTING = 50
MAX_VALUES = 1_000_000
# A whole person's record (`groundup export`) grows with every session: years of it must
# still import, so it gets roomier limits than a hand-written input file.
MAX_RECORD_BYTES = 64 * 1024 * 1024
MAX_RECORD_VALUES = 8_000_000


class InputError(ValueError):
    """A file or value given on the command line cannot be used; the message says why."""


def read_document(
    path: Path, *, max_bytes: int = MAX_INPUT_BYTES, max_values: int = MAX_VALUES
) -> Any:
    """Parse a YAML or JSON file into plain data, or raise InputError with one clear line.

    Only regular files are read (a pipe or a device could block or never end), at most
    `max_bytes` of them; the parsed data may nest at most MAX_NESTING levels, hold at
    most `max_values` values (YAML aliases count each time they are used, so an alias bomb is
    refused) and only finite numbers; its text must be storable (`groundup.clinical.text`)."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file (a pipe or a device cannot be read)")
    try:
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    if len(raw) > max_bytes:
        size = max(path.stat().st_size, len(raw))
        raise InputError(
            f"{path}: file is {size / 1_048_576:.1f} MB; input files are limited to "
            f"{max_bytes // 1_048_576} MB"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8"
        ) from exc
    if "\x00" in text:
        raise InputError(f"{path}: holds a NUL byte, so it is not a text file")
    if not text.strip():
        raise InputError(f"{path}: the file is empty")
    try:
        data = (
            json.loads(text, parse_constant=_reject_constant)
            if path.suffix.lower() == ".json"
            else yaml.safe_load(text)
        )
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON at line {exc.lineno}: {exc.msg}") from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError(f"{path}: not valid YAML{where}: {exc.problem}") from exc
    except RecursionError as exc:
        raise InputError(f"{path}: nested more than {MAX_NESTING} levels deep") from exc
    except (yaml.YAMLError, ValueError) as exc:
        raise InputError(f"{path}: cannot be parsed: {_first_line(exc)}") from exc
    _check_shape(data, path, max_values)
    unstorable = first_unstorable(data)
    if unstorable is not None:
        raise InputError(f"{path}: {clean_text(unstorable[0])[:120]}: {unstorable[1]}")
    return data


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number; write a finite number")


def _check_shape(data: Any, path: Path, max_values: int) -> None:
    stack: list[tuple[Any, int]] = [(data, 0)]
    seen = 0
    while stack:
        item, depth = stack.pop()
        seen += 1
        if seen > max_values:
            raise InputError(
                f"{path}: holds more than {max_values:,} values (YAML aliases count each "
                "time they are used)"
            )
        if depth > MAX_NESTING:
            raise InputError(f"{path}: nested more than {MAX_NESTING} levels deep")
        if isinstance(item, float) and not math.isfinite(item):
            raise InputError(f"{path}: {item} is not a number; write a finite number")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
            stack.extend((k, depth + 1) for k in item if not isinstance(k, str))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def validate(model: type[M], data: Any, where: str) -> M:
    """Validate plain data into a model; one line naming the field on failure."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, f"{where}: ")) from exc


def section(data: Any, key: str, path: Path) -> Any:
    """One top-level section of an input document."""
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping with a section named '{key}' at the top")
    if key not in data:
        present = ", ".join(sorted(map(str, data))) or "nothing"
        raise InputError(f"{path}: no '{key}' section (found: {present})")
    return data[key]
