"""The protocol form: plain fields to the same document the YAML path takes, and back.

Each input is named by the place of its value in the protocol document (`name`,
`items.1.sets`, `blocks.0.weeks_to`), so a refusal from the one protocol check
(`services.library.parse_template`, as `groundup template check` and the YAML textbox)
names the field it belongs beside. Blank rows are left out; "add a row" re-renders the
form with one more, no script needed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import FormData

from groundup.clinical.rules import Template

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
ITEM_FIELDS = (
    "exercise_id",
    "sets",
    "amount",
    "tempo_lowering",
    "tempo_lifting",
    "load_kg",
    "note",
)
# What the form has no field for (alternatives, partners, ...) rides along unchanged
# when an existing protocol is edited.
ITEM_KEPT = ("alternatives", "part", "extra_set_weaker_side", "pair_with", "keep_when_irritable")
TOP_KEPT = ("needs", "affected_side_only")
BLOCK_FIELDS = ("weeks_from", "weeks_to", "sets", "amount", "note")
MAX_ROWS = 40
DEFAULT_SOURCE = "Own clinical practice"


def _get(form: FormData | Mapping[str, Any], key: str) -> str:
    value = form.get(key)
    return str(value).strip()[:2000] if isinstance(value, str) else ""


def _count(form: FormData | Mapping[str, Any], key: str, least: int) -> int:
    raw = _get(form, key)
    number = int(raw) if raw.isdigit() else least
    return max(least, min(number, MAX_ROWS))


def _number(text: str) -> Any:
    """A number as typed: an int or a float when it reads as one, else the text itself
    (so the protocol check refuses it, naming the field)."""
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def values_from_form(form: FormData | Mapping[str, Any]) -> dict[str, Any]:
    """The form as it was filled, to show again (text values, rows as lists)."""
    items = [
        {field: _get(form, f"items.{i}.{field}") for field in (*ITEM_FIELDS, "kept")}
        for i in range(_count(form, "item_rows", 1))
    ]
    blocks = [
        {field: _get(form, f"blocks.{i}.{field}") for field in BLOCK_FIELDS}
        for i in range(_count(form, "block_rows", 0))
    ]
    raw_days: Any = (
        form.getlist("training_days")
        if isinstance(form, FormData)
        else form.get("training_days", [])
    )
    days = [d for d in raw_days if isinstance(d, str)] if isinstance(raw_days, list) else []
    return {
        "key": _get(form, "key"),
        "name": _get(form, "name"),
        "description": _get(form, "description"),
        "source": _get(form, "source"),
        "confidence": _get(form, "confidence") or "U",
        "phase": _get(form, "phase"),
        "training_days": [str(d) for d in days if str(d).isdigit()],
        "times_per_day": _get(form, "times_per_day") or "1",
        "weeks": _get(form, "weeks"),
        "first_load_kg": _get(form, "first_load_kg"),
        "include_warm_up": _get(form, "include_warm_up") == "yes",
        "include_mobility": _get(form, "include_mobility") == "yes",
        "protocol": _get(form, "protocol") == "yes",
        "items": items,
        "blocks": blocks,
        "kept": _get(form, "kept"),
    }


def _kept(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def add_row(values: dict[str, Any], which: str) -> None:
    if which == "item" and len(values["items"]) < MAX_ROWS:
        values["items"].append(dict.fromkeys((*ITEM_FIELDS, "kept"), ""))
    elif which == "block" and len(values["blocks"]) < MAX_ROWS:
        values["blocks"].append(dict.fromkeys(BLOCK_FIELDS, ""))


def document(values: Mapping[str, Any]) -> dict[str, Any]:
    """The protocol document the form's values make: the shape the YAML path takes.
    Blank optional fields are left out, so the model's defaults apply as in a file."""
    doc: dict[str, Any] = {
        **{k: v for k, v in _kept(values.get("kept", "")).items() if k in TOP_KEPT},
        "key": values["key"],
        "name": values["name"],
        "description": values["description"],
        "source": values["source"] or DEFAULT_SOURCE,
        "confidence": values["confidence"],
        "phase": values["phase"],
        "training_days": [int(d) for d in values["training_days"]],
        "times_per_day": _number(values["times_per_day"]),
    }
    # A field left blank is a field not given: the check says it is needed.
    for field in ("key", "name", "description", "phase"):
        if not doc[field]:
            del doc[field]
    if values["weeks"]:
        doc["weeks"] = _number(values["weeks"])
    items = []
    for row in values["items"]:
        if not any(v for f, v in row.items() if f != "kept"):
            continue
        item: dict[str, Any] = {
            **{k: v for k, v in _kept(row.get("kept", "")).items() if k in ITEM_KEPT},
            "exercise_id": row["exercise_id"],
            "sets": _number(row["sets"]) if row["sets"] else None,
            "amount": _number(row["amount"]) if row["amount"] else None,
        }
        if row["tempo_lowering"] or row["tempo_lifting"]:
            item["tempo"] = {
                "lowering": _number(row["tempo_lowering"] or "0"),
                "lifting": _number(row["tempo_lifting"] or "0"),
            }
        if row["load_kg"]:
            item["load_kg"] = _number(row["load_kg"])
        if row["note"]:
            item["note"] = row["note"]
        items.append(item)
    doc["items"] = items
    blocks = []
    for row in values["blocks"]:
        if not any(row.values()):
            continue
        block = {f: _number(row[f]) if row[f] else None for f in BLOCK_FIELDS if f != "note"}
        if row["note"]:
            block["note"] = row["note"]
        blocks.append(block)
    if blocks:
        doc["blocks"] = blocks
    if values["first_load_kg"]:
        doc["first_load_kg"] = {
            "value": _number(values["first_load_kg"]),
            "source": doc["source"],
            "confidence": "U",
        }
    doc["include_warm_up"] = values["include_warm_up"]
    doc["include_mobility"] = values["include_mobility"]
    doc["protocol"] = values["protocol"]
    return doc


def row_index_map(values: Mapping[str, Any]) -> dict[str, str]:
    """Document places (`items.0`) to the form's rows (`items.2`) when blank rows were
    left out, so an error lands beside the row it came from."""
    out: dict[str, str] = {}
    for kind in ("items", "blocks"):
        kept = 0
        for index, row in enumerate(values[kind]):
            if any(v for f, v in row.items() if f != "kept"):
                out[f"{kind}.{kept}"] = f"{kind}.{index}"
                kept += 1
    return out


def field_of(path: str, values: Mapping[str, Any]) -> str:
    """The form field a refusal's place belongs to (`items.0.tempo.lowering` →
    `items.0.tempo_lowering`; `first_load_kg.value` → `first_load_kg`)."""
    parts = path.split(".")
    if len(parts) >= 2 and f"{parts[0]}.{parts[1]}" in row_index_map(values):
        parts[:2] = row_index_map(values)[f"{parts[0]}.{parts[1]}"].split(".")
    if parts[0] == "items" and len(parts) >= 4 and parts[2] == "tempo":
        return f"items.{parts[1]}.tempo_{parts[3] if parts[3] == 'lifting' else 'lowering'}"
    if parts[0] == "items" and len(parts) >= 3 and parts[2] in ("alternatives", "pair_with"):
        return f"items.{parts[1]}.exercise_id"
    if parts[0] in ("items", "blocks") and len(parts) >= 3:
        return ".".join(parts[:3])
    if parts[0] in ("items", "blocks") and len(parts) == 2:
        return f"{parts[0]}.{parts[1]}.{'exercise_id' if parts[0] == 'items' else 'weeks_from'}"
    if parts[0] == "items":
        return "items.0.exercise_id"
    return parts[0]


FIELD_WORDS = {
    "key": "Key",
    "name": "Name",
    "description": "Description",
    "source": "Source",
    "confidence": "Confidence",
    "phase": "Phase",
    "training_days": "Training days",
    "times_per_day": "Times a day",
    "weeks": "Weeks",
    "first_load_kg": "First added load",
    "exercise_id": "exercise",
    "sets": "sets",
    "amount": "amount",
    "tempo_lowering": "seconds down",
    "tempo_lifting": "seconds up",
    "load_kg": "load",
    "note": "note",
    "weeks_from": "from week",
    "weeks_to": "to week",
}


def field_words(field: str) -> str:
    """The field as the form labels it: `items.1.sets` → "Exercise 2, sets"."""
    parts = field.split(".")
    if parts[0] in ("items", "blocks") and len(parts) == 3:
        row = "Exercise" if parts[0] == "items" else "Stage"
        return f"{row} {int(parts[1]) + 1}, {FIELD_WORDS.get(parts[2], parts[2])}"
    return FIELD_WORDS.get(field, field)


def values_from_template(key: str, template: Template) -> dict[str, Any]:
    """An existing protocol in the form's terms (editing opens in the form)."""

    def text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    return {
        "key": key,
        "name": template.name,
        "description": template.description,
        "source": template.source,
        "confidence": str(getattr(template.confidence, "value", template.confidence)),
        "phase": template.phase.value,
        "training_days": [str(d) for d in template.training_days],
        "times_per_day": text(template.times_per_day),
        "weeks": text(template.weeks),
        "first_load_kg": text(template.first_load_kg.value) if template.first_load_kg else "",
        "include_warm_up": template.include_warm_up,
        "include_mobility": template.include_mobility,
        "protocol": template.protocol,
        "items": [
            {
                "exercise_id": item.exercise_id,
                "sets": text(item.sets),
                "amount": text(item.amount),
                "tempo_lowering": text(item.tempo.lowering) if item.tempo else "",
                "tempo_lifting": text(item.tempo.lifting) if item.tempo else "",
                "load_kg": text(item.load_kg),
                "note": item.note,
                "kept": _kept_json(item.model_dump(mode="json"), ITEM_KEPT),
            }
            for item in template.items
        ],
        "blocks": [
            {
                "weeks_from": text(b.weeks_from),
                "weeks_to": text(b.weeks_to),
                "sets": text(b.sets),
                "amount": text(b.amount),
                "note": b.note,
            }
            for b in template.blocks
        ],
        "kept": _kept_json(template.model_dump(mode="json"), TOP_KEPT),
    }


def _kept_json(data: Mapping[str, Any], fields: tuple[str, ...]) -> str:
    kept = {k: data[k] for k in fields if data.get(k) not in (None, [], ())}
    return json.dumps(kept) if kept else ""


def blank_values() -> dict[str, Any]:
    return {
        "key": "",
        "name": "",
        "description": "",
        "source": DEFAULT_SOURCE,
        "confidence": "U",
        "phase": "low_load_resistance",
        "training_days": ["0", "2", "4"],
        "times_per_day": "1",
        "weeks": "",
        "first_load_kg": "",
        "include_warm_up": True,
        "include_mobility": True,
        "protocol": False,
        "items": [dict.fromkeys((*ITEM_FIELDS, "kept"), "") for _ in range(2)],
        "blocks": [],
        "kept": "",
    }
