"""Reading the files people hand to the command line: YAML or JSON, checked with care."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from groundup.knowledge import describe_validation_error

M = TypeVar("M", bound=BaseModel)

MAX_INPUT_BYTES = 5 * 1024 * 1024
MAX_NESTING = 50


class InputError(ValueError):
    """A file or value given on the command line cannot be used; the message says why."""


def read_document(path: Path) -> Any:
    """Parse a YAML or JSON file into plain data, or raise InputError with one clear line."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file")
    size = path.stat().st_size
    if size > MAX_INPUT_BYTES:
        raise InputError(
            f"{path}: file is {size / 1_048_576:.1f} MB; input files are limited to "
            f"{MAX_INPUT_BYTES // 1_048_576} MB"
        )
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8"
        ) from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    if not text.strip():
        raise InputError(f"{path}: the file is empty")
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON at line {exc.lineno}: {exc.msg}") from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError(f"{path}: not valid YAML{where}: {exc.problem}") from exc
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        raise InputError(f"{path}: cannot be parsed: {exc}") from exc
    _check_depth(data, path)
    return data


def _check_depth(data: Any, path: Path) -> None:
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_NESTING:
            raise InputError(f"{path}: nested more than {MAX_NESTING} levels deep")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
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
