"""The exercise pictures: every exercise has one, drawn from checked pose data, as plain
self-contained SVG that shows a real movement and marks the working leg."""

from __future__ import annotations

import copy
import datetime as dt
import html
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from groundup.clinical.exercises import Exercise
from groundup.clinical.vocabulary import Position
from groundup.knowledge import DATA, KnowledgeError, load_library, load_rules, read_yaml
from groundup.pictures import render, working_legs
from groundup.pictures.draw import PALETTE
from groundup.pictures.figure import pose_body
from groundup.pictures.poses import Pose, load_pictures, pictures_from_document
from groundup.services import Services
from groundup.storage.database import Database
from groundup.web.app import create_app
from test_web_person import csrf_of, hidden, start

SVG = "{http://www.w3.org/2000/svg}"
LIBRARY = load_library()
IDS = sorted(LIBRARY)


def document() -> dict[str, Any]:
    """A fresh copy of the shipped pictures file, to break on purpose."""
    return copy.deepcopy(read_yaml(DATA / "pictures.yaml"))


def geometry(pose: Pose) -> list[float]:
    body = pose_body(pose)
    numbers: list[float] = []
    for point in sorted(body.points):
        numbers.extend(body.points[point])
    for leg in body.legs:
        for p in leg.foot + leg.toes:
            numbers.extend(p)
    return numbers


@pytest.mark.parametrize("exercise_id", IDS)
def test_every_exercise_draws_a_self_contained_svg(exercise_id: str) -> None:
    exercise = LIBRARY[exercise_id]
    markup = render(exercise)
    root = ET.fromstring(markup)
    assert root.tag == f"{SVG}svg"
    width, height = (float(v) for v in root.attrib["viewBox"].split()[2:])
    assert width > 100 and height > 50
    assert "width" not in root.attrib and "height" not in root.attrib
    assert root.attrib["role"] == "img"
    assert exercise.name in root.attrib["aria-label"]
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == exercise.name
    for element in root.iter():
        tag = element.tag.removeprefix(SVG)
        assert tag not in ("script", "foreignObject", "image", "style", "use", "filter")
        for name, value in element.attrib.items():
            assert not name.endswith("href"), (tag, name)
            assert name != "style" and not name.startswith("on"), (tag, name)
            assert "url(" not in value and "var(" not in value, (tag, value)
    # the figure is actually drawn: a head per pose and limbs as strokes
    assert len(root.findall(f"{SVG}circle")) >= 2
    assert len(root.findall(f"{SVG}polyline")) >= 8


def test_every_library_exercise_has_its_own_pose_pair() -> None:
    book = load_pictures()
    assert set(book.pictures) == set(LIBRARY)


@pytest.mark.parametrize("exercise_id", IDS)
def test_start_and_end_poses_really_differ(exercise_id: str) -> None:
    start_pose, end_pose = load_pictures().poses(exercise_id)
    before, after = geometry(start_pose), geometry(end_pose)
    biggest = max(abs(a - b) for a, b in zip(before, after, strict=True))
    assert biggest > 1.0, f"{exercise_id}: the end pose looks the same as the start"
    if end_pose.lift == 0 and start_pose.lift == 0:
        return
    # a hop's airborne pose leaves the floor with both feet
    svg = render(LIBRARY[exercise_id])
    assert "#c9d0d8" in svg, "an airborne pose casts a shadow on the floor"


@pytest.mark.parametrize("exercise_id", IDS)
def test_the_working_leg_is_drawn_in_the_accent_colour(exercise_id: str) -> None:
    exercise: Exercise = LIBRARY[exercise_id]
    picture = load_pictures().pictures[exercise_id]
    svg = render(exercise)
    end = PALETTE["end"]
    legs = working_legs(picture, exercise)
    # foot, toes and the leg itself, in the end pose
    assert svg.count(f'"{end["work"]}"') >= 3
    if len(legs) == 1:
        assert end["work_back"] not in svg, "only one leg works, only one is marked"
    else:
        assert end["work_back"] in svg, "both legs work, both are marked"


def test_jumps_leave_the_floor_and_heel_raises_lift_the_heel() -> None:
    book = load_pictures()
    for exercise_id in ("pogo_hops", "small_two_leg_hops", "single_leg_pogo_hops"):
        assert book.poses(exercise_id)[1].lift > 0
    for exercise_id in ("calf_raise_wall", "single_leg_heel_raise", "seated_heel_raise"):
        start_pose, end_pose = book.poses(exercise_id)
        assert end_pose.near.ankle < start_pose.near.ankle - 20  # pointed: onto the toes
    for exercise_id in ("tibialis_raise_wall", "seated_dorsiflexor_activation"):
        start_pose, end_pose = book.poses(exercise_id)
        assert end_pose.near.ankle > start_pose.near.ankle + 15  # the front of the foot up


def test_a_picture_for_an_unknown_exercise_is_refused() -> None:
    data = document()
    data["exercises"]["moon_walk"] = data["exercises"]["pogo_hops"]
    with pytest.raises(KnowledgeError, match="unknown exercise 'moon_walk'"):
        pictures_from_document(data, LIBRARY)


def test_an_exercise_without_a_picture_is_refused() -> None:
    data = document()
    del data["exercises"]["pogo_hops"]
    with pytest.raises(KnowledgeError, match="no picture for exercise 'pogo_hops'"):
        pictures_from_document(data, LIBRARY)


@pytest.mark.parametrize(
    ("where", "field"),
    [("picture", "colour"), ("pose", "wiggle"), ("leg", "elbow")],
)
def test_unknown_fields_are_refused(where: str, field: str) -> None:
    data = document()
    picture = data["exercises"]["calf_raise_wall"]
    target = {"picture": picture, "pose": picture["end"], "leg": picture["end"]["legs"]}[where]
    target[field] = 1
    with pytest.raises(KnowledgeError, match=field):
        pictures_from_document(data, LIBRARY)


def test_impossible_joint_angles_unknown_bases_and_points_are_refused() -> None:
    data = document()
    data["exercises"]["calf_raise_wall"]["end"]["legs"]["knee"] = 400
    with pytest.raises(KnowledgeError, match="calf_raise_wall"):
        pictures_from_document(data, LIBRARY)
    data = document()
    data["exercises"]["calf_raise_wall"]["start"]["base"] = "handstand"
    with pytest.raises(KnowledgeError, match="handstand"):
        pictures_from_document(data, LIBRARY)
    data = document()
    data["exercises"]["calf_raise_wall"]["arrow"]["point"] = "near_wing"
    with pytest.raises(KnowledgeError, match="near_wing"):
        pictures_from_document(data, LIBRARY)


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    result = subprocess.run(
        [sys.executable, "-m", "groundup", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in result.stderr
    return result


def test_the_cli_writes_the_picture_and_refuses_unknown_exercises(tmp_path: Path) -> None:
    target = tmp_path / "calf.svg"
    result = cli("exercise", "calf_raise_wall", "--svg", str(target), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    root = ET.fromstring(target.read_text(encoding="utf-8"))
    assert root.find(f"{SVG}title") is not None
    assert "Calf raise" in result.stdout
    bad = cli("exercise", "moon_walk", "--svg", str(tmp_path / "x.svg"), cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "moon_walk" in bad.stderr
    assert not (tmp_path / "x.svg").exists()
    nowhere = cli("exercise", "pogo_hops", "--svg", str(tmp_path / "no" / "x.svg"), cwd=tmp_path)
    assert nowhere.returncode == 2 and "cannot write" in nowhere.stderr


def test_the_session_player_shows_each_exercise_picture(tmp_path: Path) -> None:
    services = Services(
        Database(f"sqlite:///{tmp_path / 'w.db'}"), load_rules(), clock=lambda: dt.date(2025, 3, 5)
    )
    client = TestClient(create_app(services=services), follow_redirects=False)
    start(client, services)
    today = client.get("/me").text
    form = {
        "csrf": csrf_of(today),
        "log_id": hidden(today, "log_id"),
        "day": hidden(today, "day"),
        "version": hidden(today, "version"),
        "draft": "[]",
        "action": "start",
    }
    page = client.post("/me/session/0", data=form)
    assert page.status_code == 200
    assert '<figure class="exercise-figure"><svg' in page.text
    figure = page.text.split('<figure class="exercise-figure">')[1].split("</figure>")[0]
    root = ET.fromstring(figure)
    title = root.find(f"{SVG}title")
    heading = html.unescape(page.text.split("<h1>")[1].split("</h1>")[0])
    assert title is not None and title.text == heading


@pytest.mark.parametrize("position", list(Position))
def test_an_exercise_from_outside_the_library_still_gets_a_figure(position: Position) -> None:
    custom = LIBRARY["calf_raise_wall"].model_copy(
        update={"id": "my_own_move", "name": "My own move", "position": position}
    )
    root = ET.fromstring(render(custom))
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == "My own move"
    assert len(root.findall(f"{SVG}circle")) >= 2
