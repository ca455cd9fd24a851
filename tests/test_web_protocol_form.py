"""The protocol form: a clinician builds a protocol without writing YAML. The form makes
the same document the YAML path takes and goes through the same one check; a refusal is
shown beside the field it came from, naming it; "add a row" works without any script;
editing an existing protocol opens in the form."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from groundup.clinical.logs import Override
from groundup.services.library import Owner
from test_own_exercises import own_exercise, own_protocol
from test_services import intake
from test_web_own_exercises import Site, create


class Node:
    """An element of a page: enough of a DOM to find a control and what sits beside it."""

    def __init__(self, name: str, attrs: dict[str, str], parent: Node | None) -> None:
        self.name = name
        self.attrs = attrs
        self.parent = parent
        self.children: list[Node] = []
        self.text = ""

    def get(self, key: str, default: Any = None) -> Any:
        return self.attrs.get(key, default)

    def __getitem__(self, key: str) -> str:
        return self.attrs[key]

    def has_attr(self, key: str) -> bool:
        return key in self.attrs

    def walk(self) -> Iterator[Node]:
        for child in self.children:
            yield child
            yield from child.walk()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        return [
            n
            for n in self.walk()
            if (tag is None or n.name == tag) and all(n.get(k) == v for k, v in attrs.items())
        ]

    def find(self, tag: str | None = None, **attrs: str) -> Node | None:
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    def get_text(self) -> str:
        return self.text + "".join(c.get_text() for c in self.children)


VOID = {"input", "br", "meta", "link", "img", "hr", "source", "wbr"}


def dom(html: str) -> Node:
    root = Node("#root", {}, None)

    class Builder(HTMLParser):
        at = root

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            node = Node(tag, {k: v or "" for k, v in attrs}, self.at)
            self.at.children.append(node)
            if tag not in VOID:
                self.at = node

        def handle_endtag(self, tag: str) -> None:
            at: Node | None = self.at
            while at is not None and at.name != tag:
                at = at.parent
            if at is not None and at.parent is not None:
                self.at = at.parent

        def handle_data(self, data: str) -> None:
            self.at.children.append(Node("#text", {}, self.at))
            self.at.children[-1].text = data

    Builder().feed(html)
    return root


def option_chosen(select: Node) -> str | None:
    chosen = [o for o in select.find_all("option") if o.has_attr("selected")]
    return chosen[0]["value"] if chosen else None


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    s = Site(tmp_path)
    yield s
    s.database.dispose()


GOOD: dict[str, Any] = {
    "key": "staged_calf",
    "name": "Staged calf protocol",
    "description": "Calf raises with shin raises to balance them, heavier in three stages.",
    "source": "Own clinical practice",
    "confidence": "U",
    "phase": "higher_load",
    "training_days": ["0", "2", "4"],
    "times_per_day": "1",
    "weeks": "9",
    "first_load_kg": "5",
    "protocol": "yes",
    "include_mobility": "yes",
    "item_rows": "3",
    "items.0.exercise_id": "calf_raise_wall",
    "items.0.sets": "3",
    "items.0.amount": "15",
    "items.0.tempo_lowering": "3",
    "items.0.tempo_lifting": "3",
    "items.1.exercise_id": "tibialis_raise_wall",
    "items.1.sets": "2",
    "items.1.amount": "15",
    "items.1.note": "Slowly on the way down.",
    # items.2 left blank: left out
    "block_rows": "3",
    "blocks.0.weeks_from": "1",
    "blocks.0.weeks_to": "3",
    "blocks.0.sets": "3",
    "blocks.0.amount": "15",
    "blocks.1.weeks_from": "4",
    "blocks.1.weeks_to": "6",
    "blocks.1.sets": "4",
    "blocks.1.amount": "10",
    "blocks.2.weeks_from": "7",
    "blocks.2.weeks_to": "9",
    "blocks.2.sets": "4",
    "blocks.2.amount": "6",
    "blocks.2.note": "4 × 6, heavy",
}

SAME_AS_YAML = """key: staged_calf_yaml
name: Staged calf protocol
description: Calf raises with shin raises to balance them, heavier in three stages.
source: Own clinical practice
confidence: U
phase: higher_load
training_days: [0, 2, 4]
weeks: 9
protocol: true
include_warm_up: false
first_load_kg: {value: 5, source: Own clinical practice, confidence: U}
items:
  - {exercise_id: calf_raise_wall, sets: 3, amount: 15, tempo: {lowering: 3, lifting: 3}}
  - {exercise_id: tibialis_raise_wall, sets: 2, amount: 15, note: Slowly on the way down.}
blocks:
  - {weeks_from: 1, weeks_to: 3, sets: 3, amount: 15}
  - {weeks_from: 4, weeks_to: 6, sets: 4, amount: 10}
  - {weeks_from: 7, weeks_to: 9, sets: 4, amount: 6, note: "4 × 6, heavy"}
"""


def post(site: Site, data: dict[str, Any]) -> Any:
    client, csrf = site.client(site.c)
    return client.post("/clinic/protocols/new", data={"csrf": csrf, **data})


def protocols(site: Site) -> dict[str, Any]:
    return {p.key: p for p in site.services.own.protocols(Owner.clinician(site.c.id))}


def test_the_form_saves_the_same_protocol_as_the_yaml_path(site: Site) -> None:
    client, csrf = site.client(site.c)
    page = client.get("/clinic/protocols/new")
    assert page.status_code == 200
    doc = dom(page.text)
    assert doc.find("select", name="items.0.exercise_id") is not None
    assert re.search(r"<a [^>]*>Advanced: edit as YAML</a>", page.text)
    assert doc.find("textarea", name="text") is None
    made = post(site, GOOD)
    assert made.status_code == 303, made.text
    written = client.post("/clinic/protocols/new", data={"csrf": csrf, "text": SAME_AS_YAML})
    assert written.status_code == 303, written.text
    saved = protocols(site)
    assert saved["staged_calf"].template == saved["staged_calf_yaml"].template
    assert len(saved["staged_calf"].template.items) == 2
    assert len(saved["staged_calf"].template.blocks) == 3


def test_the_form_offers_the_clinicians_own_exercises(site: Site) -> None:
    client, _ = create(site)
    doc = dom(client.get("/clinic/protocols/new").text)
    select = doc.find("select", name="items.0.exercise_id")
    assert select is not None
    groups = {
        g["label"]: [o["value"] for o in g.find_all("option")] for g in select.find_all("optgroup")
    }
    assert groups["Own and clinic exercises"] == ["towel_calf_hold"]
    assert "calf_raise_wall" in groups["Built-in exercises"]
    made = post(
        site,
        {
            **GOOD,
            "items.2.exercise_id": "towel_calf_hold",
            "items.2.sets": "2",
            "items.2.amount": "10",
        },
    )
    assert made.status_code == 303, made.text
    assert protocols(site)["staged_calf"].template.items[2].exercise_id == "towel_calf_hold"
    # Another clinician's own exercise is not offered to them.
    other, _ = site.client(site.d)
    assert "towel_calf_hold" not in other.get("/clinic/protocols/new").text


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("key", "Not A Key", "Key"),
        ("name", "", "Name"),
        ("phase", "phase_nine", "Phase"),
        ("items.1.exercise_id", "no_such_exercise", "Exercise 2, exercise"),
        ("items.0.sets", "99", "Exercise 1, sets"),
        ("items.1.amount", "lots", "Exercise 2, amount"),
        ("items.0.tempo_lowering", "40", "Exercise 1, seconds down"),
        ("blocks.2.sets", "0", "Stage 3, sets"),
        ("times_per_day", "9", "Times a day"),
        ("first_load_kg", "heavy", "First added load"),
    ],
)
def test_each_bad_field_is_answered_beside_it(
    site: Site, field: str, value: str, words: str
) -> None:
    response = post(site, {**GOOD, field: value})
    assert response.status_code == 422
    doc = dom(response.text)
    control = doc.find(name=field)
    assert control is not None and control.get("aria-invalid") == "true", field
    error = doc.find(id=control["aria-describedby"])
    assert error is not None and "field-error" in error["class"]
    assert error.get_text().startswith(f"{words}:"), error.get_text()
    # The error sits beside the field: in the same label.
    assert error.parent is control.parent
    # What was typed is kept.
    kept = control.get("value") if control.name == "input" else None
    if control.name == "input":
        assert kept == value
    assert protocols(site) == {}


def test_training_days_refused_beside_the_days(site: Site) -> None:
    data = {k: v for k, v in GOOD.items() if k != "training_days"}
    response = post(site, data)
    assert response.status_code == 422
    days = dom(response.text).find("fieldset", **{"aria-describedby": "e-training_days"})
    assert days is not None
    error = days.find(id="e-training_days")
    assert error is not None and error.get_text().startswith("Training days:")


def test_add_a_row_without_script(site: Site) -> None:
    response = post(site, {**GOOD, "add": "item"})
    assert response.status_code == 200
    doc = dom(response.text)
    assert doc.find("select", name="items.3.exercise_id") is not None
    assert doc.find("select", name="items.4.exercise_id") is None
    rows = doc.find("input", name="item_rows")
    assert rows is not None and rows["value"] == "4"
    # What was filled stays filled.
    chosen = doc.find("select", name="items.1.exercise_id")
    assert chosen is not None and option_chosen(chosen) == "tibialis_raise_wall"
    note = doc.find("input", name="blocks.2.note")
    assert note is not None and note["value"] == "4 × 6, heavy"
    stage = post(site, {**GOOD, "add": "block"})
    assert dom(stage.text).find("input", name="blocks.3.weeks_from") is not None
    assert protocols(site) == {}


def test_editing_opens_in_the_form_and_saves_a_new_version(site: Site) -> None:
    client, csrf = site.client(site.c)
    text = SAME_AS_YAML.replace(
        "  - {exercise_id: tibialis_raise_wall,",
        "  - {exercise_id: tibialis_raise_wall, alternatives: [tibialis_lifts],",
    )
    assert (
        client.post("/clinic/protocols/new", data={"csrf": csrf, "text": text}).status_code == 303
    )
    page = client.get("/clinic/protocols/staged_calf_yaml/edit")
    assert page.status_code == 200
    found = [f for f in dom(page.text).find_all("form") if "protocol-form" in f.get("class", "")]
    assert found
    form: dict[str, Any] = {}
    for control in found[0].walk():
        name = control.get("name")
        if (
            control.name not in ("input", "select", "textarea")
            or not name
            or control.get("type") == "submit"
        ):
            continue
        if control.get("type") == "checkbox":
            if control.has_attr("checked"):
                form.setdefault(name, []).append(control["value"])
            continue
        if control.name == "select":
            form[name] = option_chosen(control) or ""
        elif control.name == "textarea":
            form[name] = control.get_text()
        else:
            form[name] = control.get("value", "")
    form["csrf"] = csrf
    assert form["items.0.exercise_id"] == "calf_raise_wall"
    assert form["blocks.2.amount"] == "6"
    before = protocols(site)["staged_calf_yaml"]
    form["items.1.sets"] = "3"
    saved = client.post("/clinic/protocols/new", data=form)
    assert saved.status_code == 303, re.findall(r"Not saved[^<]*", saved.text)
    after = protocols(site)["staged_calf_yaml"]
    assert after.version == before.version + 1
    assert after.template.items[1].sets == 3
    # Nothing the form has no field for is lost.
    assert after.template.items[1].alternatives == before.template.items[1].alternatives
    assert after.template.model_copy(update={"items": before.template.items}) == before.template
    yaml_page = client.get("/clinic/protocols/staged_calf_yaml/edit?as=yaml")
    shown = dom(yaml_page.text).find("textarea", name="text")
    assert shown is not None
    assert yaml.safe_load(shown.get_text())["key"] == "staged_calf_yaml"


def test_the_yaml_textbox_is_still_there(site: Site) -> None:
    client, csrf = site.client(site.c)
    page = client.get("/clinic/protocols/new?as=yaml")
    assert 'name="text"' in page.text
    bad = client.post("/clinic/protocols/new", data={"csrf": csrf, "text": "key: [unclosed"})
    assert bad.status_code == 422 and "not valid YAML" in bad.text


def test_a_change_to_an_own_exercise_is_named_on_the_persons_and_clinicians_pages(
    site: Site,
) -> None:
    """ "What changed and why" and the clinician's decision log name a clinician's own
    exercise as they name a built-in one: from the person's rules, not the built-in library."""
    owner = Owner.clinician(site.c.id)
    site.services.own.save(owner, [own_exercise()], by_user_id=site.c.id)
    site.services.own.save_protocols(owner, [own_protocol()], by_user_id=site.c.id)
    data = intake()
    assert data.screen is not None and data.assessment is not None
    pid = site.patient_id
    start = dt.date.today() - dt.timedelta(days=3)
    site.services.record_screen(pid, data.screen, start)
    site.services.start_program(
        pid,
        data.assessment.model_copy(update={"date": start}),
        data.preferences,
        day=start,
        template="calf_return_own",
    )
    exercise_id = "towel_calf_raise_hold"
    name = site.services.rules_for(pid).library[exercise_id].name
    slot = site.services.program(pid).slot(exercise_id)
    assert slot is not None
    site.services.apply_override(
        pid,
        Override(
            date=dt.date.today(),
            by="Dr Cee",
            reason="An easier week after the long run",
            action="pin_dose",
            exercise_id=exercise_id,
            side=slot.doses[0].side,
            sets=2,
        ),
        by_user_id=site.c.id,
    )
    person, _ = site.client(site.person)
    changes = person.get("/me/changes")
    assert changes.status_code == 200
    text = re.sub(r"\s+", " ", changes.text)
    assert f"Your clinician changed your dose. {name}" in text, text[-3000:]
    assert "sets 3 → 2" in text
    clinician, _ = site.client(site.c)
    page = re.sub(r"\s+", " ", clinician.get(f"/clinic/patients/{pid}").text)
    log = page[page.index("<h2>Decisions") :]
    assert f">{name}</span>" in log
    assert f"· {exercise_id}" not in log


THREE: dict[str, Any] = {
    **{k: v for k, v in GOOD.items() if not k.startswith("blocks.") and k != "block_rows"},
    "key": "three_phase_calf",
    "weeks": "",
    "phase": "low_load_resistance",
    "phase_rows": "3",
    "phases.0.name": "Settle",
    "phases.0.move_on": "weeks",
    "phases.0.after_weeks": "2",
    "phases.1.name": "Load",
    "phases.1.phase": "dynamic_stability",
    "phases.1.item_rows": "1",
    "phases.1.items.0.exercise_id": "single_leg_heel_raise",
    "phases.1.items.0.sets": "3",
    "phases.1.items.0.amount": "12",
    "phases.1.move_on": "milestones",
    "phases.1.milestones": ["dynamic_pain_free", "dynamic_min_sessions"],
    "phases.2.name": "Build",
    "phases.2.phase": "higher_load",
    "phases.2.item_rows": "1",
    "phases.2.items.0.exercise_id": "hsr_calf_raise",
    "phases.2.items.0.sets": "4",
    "phases.2.items.0.amount": "8",
    "phases.2.block_rows": "1",
    "phases.2.blocks.0.weeks_from": "1",
    "phases.2.blocks.0.weeks_to": "4",
    "phases.2.blocks.0.sets": "4",
    "phases.2.blocks.0.amount": "8",
}


def test_the_form_builds_a_protocol_in_three_phases(site: Site) -> None:
    made = post(site, THREE)
    assert made.status_code == 303, re.findall(r"Not saved[^<]*", made.text)
    template = protocols(site)["three_phase_calf"].template
    assert [s.name for s in template.phases] == ["Settle", "Load", "Build"]
    assert [s.phase.value for s in template.phases] == [
        "low_load_resistance",
        "dynamic_stability",
        "higher_load",
    ]
    first, second, third = template.phases
    assert [i.exercise_id for i in first.items] == ["calf_raise_wall", "tibialis_raise_wall"]
    assert first.move_on is not None and first.move_on.after_weeks == 2
    assert second.move_on is not None
    assert second.move_on.milestones == ("dynamic_pain_free", "dynamic_min_sessions")
    assert third.move_on is None and third.blocks[0].amount == 8
    # Editing opens every phase in the form, with its rule.
    client, _ = site.client(site.c)
    doc = dom(client.get("/clinic/protocols/three_phase_calf/edit").text)
    chosen = doc.find("select", name="phases.2.items.0.exercise_id")
    assert chosen is not None and option_chosen(chosen) == "hsr_calf_raise"
    rule = doc.find("select", name="phases.1.move_on")
    assert rule is not None and option_chosen(rule) == "milestones"
    ticked = [
        box["value"]
        for box in doc.find_all("input", name="phases.1.milestones")
        if box.has_attr("checked")
    ]
    assert ticked == ["dynamic_pain_free", "dynamic_min_sessions"]
    weeks = doc.find("input", name="phases.0.after_weeks")
    assert weeks is not None and weeks["value"] == "2"
    assert doc.find("select", name="phases.2.move_on") is None  # the last phase runs on


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("phases.2.items.0.exercise_id", "no_such_exercise", "Phase 3, exercise 1, exercise:"),
        ("phases.1.items.0.sets", "40", "Phase 2, exercise 1, sets:"),
        ("phases.0.after_weeks", "99", "Phase 1, weeks before moving on:"),
        ("phases.1.move_on", "", "Phase 2, when it moves on:"),
        ("phases.2.phase", "phase_nine", "Phase 3, phase:"),
    ],
)
def test_a_bad_phase_field_is_answered_beside_it(
    site: Site, field: str, value: str, words: str
) -> None:
    response = post(site, {**THREE, field: value})
    assert response.status_code == 422
    doc = dom(response.text)
    control = doc.find(name=field)
    assert control is not None and control.get("aria-invalid") == "true", field
    error = doc.find(id=control["aria-describedby"])
    assert error is not None and error.get_text().startswith(words), error.get_text()
    assert protocols(site) == {}


def test_phases_are_added_and_removed_without_script(site: Site) -> None:
    one = post(site, {**GOOD, "add": "phase"})
    assert one.status_code == 200
    doc = dom(one.text)
    assert doc.find("select", name="phases.1.items.0.exercise_id") is not None
    assert doc.find("select", name="phases.0.move_on") is not None
    rows = doc.find("input", name="phase_rows")
    assert rows is not None and rows["value"] == "2"
    more = post(site, {**THREE, "add": "item.2"})
    assert dom(more.text).find("select", name="phases.2.items.1.exercise_id") is not None
    fewer = post(site, {**THREE, "remove_phase": "1"})
    doc = dom(fewer.text)
    assert doc.find("input", name="phase_rows")["value"] == "2"  # type: ignore[index]
    moved = doc.find("select", name="phases.1.items.0.exercise_id")
    assert moved is not None and option_chosen(moved) == "hsr_calf_raise"
    assert protocols(site) == {}
