"""The protocol form: plain fields to the same document the YAML path takes, and back.

Each input is named by the place of its value in the protocol document (`name`,
`items.1.sets`, `blocks.0.weeks_to`), so a refusal from the one protocol check
(`services.library.parse_template`, as `groundup template check` and the YAML textbox)
names the field it belongs beside. Blank rows are left out; "add a row" re-renders the
form with one more, no script needed.

A protocol in several phases: the first phase's fields are the top-level ones (`phase`,
`items.*`, `blocks.*`, as a single-phase protocol's), each later one's are under
`phases.K.` (`phases.2.items.0.sets`); every phase's name and rule for moving on are
`phases.K.name`, `phases.K.move_on` (weeks or milestones), `phases.K.after_weeks` and
`phases.K.milestones`. One phase makes the single-phase document, as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from starlette.datastructures import FormData

from groundup.clinical.rules import Template, TemplateBlock, TemplateItem

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
MAX_PHASES = 8
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


def _list(form: FormData | Mapping[str, Any], key: str) -> list[str]:
    raw: Any = form.getlist(key) if isinstance(form, FormData) else form.get(key, [])
    if isinstance(raw, str):
        raw = [raw]
    return [d.strip()[:200] for d in raw if isinstance(d, str)] if isinstance(raw, list) else []


def _rows(form: FormData | Mapping[str, Any], pre: str) -> dict[str, Any]:
    """One phase's exercise rows and week blocks (`pre`: "" or "phases.K.")."""
    return {
        "items": [
            {field: _get(form, f"{pre}items.{i}.{field}") for field in (*ITEM_FIELDS, "kept")}
            for i in range(_count(form, f"{pre}item_rows", 1))
        ],
        "blocks": [
            {field: _get(form, f"{pre}blocks.{i}.{field}") for field in BLOCK_FIELDS}
            for i in range(_count(form, f"{pre}block_rows", 0))
        ],
    }


def _phase_values(form: FormData | Mapping[str, Any], k: int) -> dict[str, Any]:
    """Phase K's name and rule for moving on (and, after the first, its own rows)."""
    pre = f"phases.{k}."
    out: dict[str, Any] = {
        "name": _get(form, f"{pre}name"),
        "move_on": _get(form, f"{pre}move_on"),
        "after_weeks": _get(form, f"{pre}after_weeks"),
        "milestones": [m for m in _list(form, f"{pre}milestones") if m],
    }
    if k:
        out["phase"] = _get(form, f"{pre}phase")
        out |= _rows(form, pre)
    return out


def values_from_form(form: FormData | Mapping[str, Any]) -> dict[str, Any]:
    """The form as it was filled, to show again (text values, rows as lists)."""
    first = _rows(form, "")
    items, blocks = first["items"], first["blocks"]
    raw = _get(form, "phase_rows")
    count = max(1, min(int(raw) if raw.isdigit() else 1, MAX_PHASES))
    days = _list(form, "training_days")
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
        "phases": [_phase_values(form, k) for k in range(count)],
        "kept": _get(form, "kept"),
    }


def _kept(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _blank_phase(k: int) -> dict[str, Any]:
    out: dict[str, Any] = {"name": "", "move_on": "", "after_weeks": "", "milestones": []}
    if k:
        out |= {
            "phase": "",
            "items": [dict.fromkeys((*ITEM_FIELDS, "kept"), "") for _ in range(2)],
            "blocks": [],
        }
    return out


def add_row(values: dict[str, Any], which: str) -> None:
    """ "item" or "block" (the first phase's), "item.K" or "block.K" (phase K's), or
    "phase" (one more phase at the end)."""
    kind, _, at = which.partition(".")
    if kind == "phase":
        if len(values["phases"]) < MAX_PHASES:
            values["phases"].append(_blank_phase(len(values["phases"])))
        return
    k = int(at) if at.isdigit() else 0
    if not 0 <= k < len(values["phases"]):
        return
    rows = values if k == 0 else values["phases"][k]
    if kind == "item" and len(rows["items"]) < MAX_ROWS:
        rows["items"].append(dict.fromkeys((*ITEM_FIELDS, "kept"), ""))
    elif kind == "block" and len(rows["blocks"]) < MAX_ROWS:
        rows["blocks"].append(dict.fromkeys(BLOCK_FIELDS, ""))


def remove_phase(values: dict[str, Any], which: str) -> None:
    """Phase K left out, its rows with it (the second phase takes the first's place when
    the first is the one removed)."""
    phases = values["phases"]
    if not which.isdigit() or len(phases) < 2 or not 0 <= int(which) < len(phases):
        return
    k = int(which)
    if k == 0:
        second = phases[1]
        values["phase"] = second["phase"]
        values["items"] = second["items"]
        values["blocks"] = second["blocks"]
        phases[0] = {f: second[f] for f in ("name", "move_on", "after_weeks", "milestones")}
        del phases[1]
    else:
        del phases[k]


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
        "training_days": [int(d) for d in values["training_days"]],
        "times_per_day": _number(values["times_per_day"]),
    }
    # A field left blank is a field not given: the check says it is needed.
    for field in ("key", "name", "description"):
        if not doc[field]:
            del doc[field]
    if values["weeks"]:
        doc["weeks"] = _number(values["weeks"])
    first = _phase_doc(values)
    phases = values.get("phases") or [_blank_phase(0)]
    if len(phases) == 1:
        doc |= first
    else:
        stages = []
        for k, meta in enumerate(phases):
            stage: dict[str, Any] = {"name": meta["name"]} if meta["name"] else {}
            stage |= first if k == 0 else _phase_doc(meta)
            if meta["move_on"] == "weeks":
                weeks = meta["after_weeks"]
                stage["move_on"] = {"after_weeks": _number(weeks) if weeks else None}
            elif meta["move_on"] == "milestones":
                stage["move_on"] = {"milestones": list(meta["milestones"])}
            stages.append(stage)
        doc["phases"] = stages
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


def _phase_doc(rows: Mapping[str, Any]) -> dict[str, Any]:
    """One phase's phase, items and blocks as the document has them."""
    doc: dict[str, Any] = {}
    if rows.get("phase"):
        doc["phase"] = rows["phase"]
    items = []
    for row in rows["items"]:
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
    for row in rows["blocks"]:
        if not any(row.values()):
            continue
        block = {f: _number(row[f]) if row[f] else None for f in BLOCK_FIELDS if f != "note"}
        if row["note"]:
            block["note"] = row["note"]
        blocks.append(block)
    if blocks:
        doc["blocks"] = blocks
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
    `items.0.tempo_lowering`; `first_load_kg.value` → `first_load_kg`;
    `phases.2.items.0.sets` → `phases.2.items.N.sets`, N its row in the form)."""
    parts = path.split(".")
    phases = values.get("phases") or [_blank_phase(0)]
    if parts[0] == "phases" and len(parts) >= 2 and parts[1].isdigit():
        k = min(int(parts[1]), len(phases) - 1)
        rest = parts[2:]
        if not rest or rest[0] in ("name", "move_on"):
            if rest[1:2] == ["after_weeks"]:
                return f"phases.{k}.after_weeks"
            if rest[1:2] == ["milestones"]:
                return f"phases.{k}.milestones"
            return f"phases.{k}.{rest[0] if rest else 'name'}"
        if k == 0:
            return field_of(".".join(rest), values)
        return f"phases.{k}." + _row_field(rest, phases[k])
    return _row_field(parts, values)


def _row_field(parts: list[str], rows: Mapping[str, Any]) -> str:
    """Within one phase's fields (the top level's, or a later phase's)."""
    parts = list(parts)
    index_map = row_index_map(rows)
    if len(parts) >= 2 and f"{parts[0]}.{parts[1]}" in index_map:
        parts[:2] = index_map[f"{parts[0]}.{parts[1]}"].split(".")
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
    "move_on": "when it moves on",
    "after_weeks": "weeks before moving on",
    "milestones": "milestones",
}


def field_words(field: str) -> str:
    """The field as the form labels it: `items.1.sets` → "Exercise 2, sets";
    `phases.2.items.0.sets` → "Phase 3, exercise 1, sets"."""
    parts = field.split(".")
    if parts[0] == "phases" and len(parts) >= 3 and parts[1].isdigit():
        inner = field_words(".".join(parts[2:]))
        return f"Phase {int(parts[1]) + 1}, {inner[0].lower()}{inner[1:]}"
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
        "items": [_item_values(item, text) for item in template.items],
        "blocks": [_block_values(b, text) for b in template.blocks],
        "phases": [_stage_values(template, k, text) for k in range(template.stage_count)],
        "kept": _kept_json(template.model_dump(mode="json"), TOP_KEPT),
    }


def _stage_values(template: Template, k: int, text: Callable[[Any], str]) -> dict[str, Any]:
    """Phase K of a protocol in the form's terms (a single-phase protocol: one, unnamed)."""
    out = _blank_phase(k)
    if not template.phases:
        return out
    stage = template.stage(k)
    rule = stage.move_on
    out |= {
        "name": stage.name,
        "move_on": "" if rule is None else ("weeks" if rule.after_weeks else "milestones"),
        "after_weeks": text(rule.after_weeks) if rule else "",
        "milestones": list(rule.milestones) if rule else [],
    }
    if k:
        out |= {
            "phase": stage.phase.value,
            "items": [_item_values(item, text) for item in stage.items],
            "blocks": [_block_values(b, text) for b in stage.blocks],
        }
    return out


def _item_values(item: TemplateItem, text: Callable[[Any], str]) -> dict[str, Any]:
    return {
        "exercise_id": item.exercise_id,
        "sets": text(item.sets),
        "amount": text(item.amount),
        "tempo_lowering": text(item.tempo.lowering) if item.tempo else "",
        "tempo_lifting": text(item.tempo.lifting) if item.tempo else "",
        "load_kg": text(item.load_kg),
        "note": item.note,
        "kept": _kept_json(item.model_dump(mode="json"), ITEM_KEPT),
    }


def _block_values(block: TemplateBlock, text: Callable[[Any], str]) -> dict[str, Any]:
    return {
        "weeks_from": text(block.weeks_from),
        "weeks_to": text(block.weeks_to),
        "sets": text(block.sets),
        "amount": text(block.amount),
        "note": block.note,
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
        "phases": [_blank_phase(0)],
        "kept": "",
    }
