"""The one rule for text groundup stores: only what both databases store and give back
unchanged, and nothing that has no place in words.

PostgreSQL refuses a NUL anywhere in text and cannot encode half of a UTF-16 surrogate
pair; SQLite stores both, and then the record cannot be read back as JSON. Other control
characters (the bell, escape, backspace, the C1 range) store fine but mean nothing in a
name or a note, and can confuse a terminal or a spreadsheet that shows them later. So
every piece of text that comes in is checked against this rule, wherever it comes from;
tab, line feed and carriage return stay allowed in free text, but not in one-line values
such as names and e-mail addresses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

# NUL and the C0 controls except tab, LF and CR; DEL and the C1 controls; UTF-16
# surrogates (in a Python string any surrogate stands alone: a whole pair is one character);
# the two noncharacters that are never text.
_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_LINE_BREAK = re.compile("[\t\n\r\x85\u2028\u2029]")


def text_problem(text: str, *, one_line: bool = False) -> str | None:
    """Why this text cannot be stored, in plain words; None when it can."""
    found = _REFUSED.search(text)
    if found is not None:
        char = found.group()
        code = f"U+{ord(char):04X}"
        if char == "\x00":
            return f"contains a NUL character ({code}), which cannot be stored"
        if "\ud800" <= char <= "\udfff":
            return (
                f"contains half of a character ({code}, a lone surrogate: often an emoji cut "
                "in two); send the whole character, or leave it out"
            )
        if char in "\ufffe\uffff":
            return f"contains {code}, which is not a character"
        return f"contains a control character ({code}) that has no place in text"
    if one_line and _LINE_BREAK.search(text):
        return "must be one line, without tabs or line breaks"
    return None


def _walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(path, text) for every string in plain data: values and mapping keys alike."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if isinstance(key, str):
                yield inner, key
            yield from _walk(item, inner)
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}.{index}" if path else str(index))


def first_unstorable(value: Any, path: str = "") -> tuple[str, str] | None:
    """The first string in plain data (nested mappings and sequences) that breaks the rule:
    (where, why) — `where` is a dotted path such as `new_red_flags.0` — or None."""
    for where, text in _walk(value, path):
        problem = text_problem(text)
        if problem is not None:
            return where or "value", problem
    return None


def clean_text(text: str) -> str:
    """The text with what the rule refuses taken out: a lone surrogate becomes U+FFFD (so
    the reader sees that a character was lost there), the rest is dropped. For text that
    is already stored or must be written whatever it holds (an audit line)."""
    if _REFUSED.search(text) is None:
        return text
    return _REFUSED.sub(lambda m: "\ufffd" if "\ud800" <= m.group() <= "\udfff" else "", text)


def clean_data(value: Any) -> Any:
    """Plain data with every string (and mapping key) cleaned by `clean_text`."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, Mapping):
        return {clean_text(k) if isinstance(k, str) else k: clean_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_data(v) for v in value]
    return value


# A spreadsheet reads a cell that starts with one of these as a formula (with a tab or a
# carriage return first, after trimming): a name such as =HYPERLINK(...) in an export
# would become a live link or command in the reader's spreadsheet.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(text: str) -> str:
    """Text for a CSV cell that a spreadsheet shows as written and never runs: one that
    could start a formula gets a leading apostrophe (which spreadsheets do not show). A
    plain number such as -2 stays as it is."""
    if not text.startswith(FORMULA_START):
        return text
    try:
        float(text)
    except ValueError:
        return "'" + text
    return text
