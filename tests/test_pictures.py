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
from groundup.pictures.draw import PALETTE, Posed, place
from groundup.pictures.figure import LIMB_WIDTH, pose_body
from groundup.pictures.motion import MIN_JOINT_CHANGE, joint_changes, motion_problems
from groundup.pictures.poses import (
    Picture,
    Pose,
    SideWall,
    Step,
    load_pictures,
    pictures_from_document,
)
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
def test_each_drawing_moves_where_the_exercise_moves(exercise_id: str) -> None:
    """A joint changes by 10 degrees or more and the arrow's point travels, unless the
    picture is a true hold declared isometric."""
    book = load_pictures()
    assert motion_problems(book.pictures[exercise_id], *book.poses(exercise_id)) == []


def test_only_true_holds_are_exempt_from_the_movement_check() -> None:
    book = load_pictures()
    isometric = {i for i, picture in book.pictures.items() if picture.isometric}
    assert isometric == {"short_foot", "short_foot_standing"}
    assert all(book.pictures[i].hold for i in isometric)
    for exercise_id in isometric:  # even a true hold shows something changing
        assert joint_changes(*book.poses(exercise_id))


def test_the_movement_check_catches_frames_that_differ_only_in_a_closed_eye() -> None:
    """The old single-leg stance, eyes closed: the same pose twice but for the eye."""
    book = load_pictures()
    still = Picture.model_validate(
        {
            "hold": True,
            "start": {"base": "one_leg"},
            "end": {"base": "one_leg", "eyes": "closed", "arms": {"abduct": 35}},
            "arrow": {"point": "far_toe"},
        }
    )
    start, end = book.resolve(still.start, "test"), book.resolve(still.end, "test")
    assert motion_problems(still, start, end) == [
        "the arrow's point far_toe moves only 0.0 units (at least 5): the frames do not "
        "differ where the arrow says"
    ]
    eye_only = still.model_copy(update={"end": still.start.model_copy(update={"eyes": "closed"})})
    problems = motion_problems(eye_only, start, book.resolve(eye_only.end, "test"))
    assert len(problems) == 2
    assert f"no joint changes by {MIN_JOINT_CHANGE:g} degrees" in problems[0]
    declared = still.model_copy(update={"isometric": True})
    assert motion_problems(declared, start, end) == []


def test_an_isometric_picture_must_be_a_hold() -> None:
    data = document()
    data["exercises"]["calf_raise_wall"]["isometric"] = True
    with pytest.raises(KnowledgeError, match="an isometric picture is a hold"):
        pictures_from_document(data, LIBRARY)


# ----- drawings that once taught the fault ------------------------------------------------


def drawn(exercise_id: str) -> tuple[Picture, Posed, Posed]:
    """The picture and its two frames as drawn: floor at y = 0, figure units."""
    book = load_pictures()
    picture = book.pictures[exercise_id]
    start, end = book.poses(exercise_id)
    return picture, place(picture, start, "start", set()), place(picture, end, "end", set())


def bottom(posed: Posed, part: str) -> float:
    """The lowest drawn edge of a foot (`near_foot`) or a body point (`near_hand`)."""
    if part.endswith("_foot"):
        return min(y - s.width / 2 for s in posed.shapes if s.part == part for _, y in s.points)
    half = (LIMB_WIDTH - 1.5) / 2 if part.endswith(("hand", "elbow")) else LIMB_WIDTH / 2
    return posed.points[part][1] - half


def test_band_assisted_reverse_nordic_sits_back_towards_the_heels() -> None:
    """Its steps say sit back towards the heels: not the lean-back of the classic version."""
    picture, start, end = drawn("reverse_nordic_band_assisted")
    _, end_pose = load_pictures().poses("reverse_nordic_band_assisted")
    assert end_pose.pitch + end_pose.trunk <= 20  # the trunk stays near upright
    pelvis, heel = end.points["pelvis"], end.points["near_heel"]
    assert start.points["pelvis"][1] - pelvis[1] >= 15  # the seat sinks
    assert pelvis[0] < end.points["near_knee"][0] - 25  # back, towards the heels
    assert abs(pelvis[0] - heel[0]) < 10
    assert any(p.kind == "band" for p in picture.props)
    text = LIBRARY["reverse_nordic_band_assisted"]
    assert any("sit back" in step.lower() for step in text.steps)
    assert not any("lean" in cue.lower() for cue in text.cues)
    assert "lean-back" not in text.summary


def test_standing_hamstring_curl_keeps_the_thighs_side_by_side() -> None:
    _, end = load_pictures().poses("single_leg_hamstring_curl_standing")
    assert end.near.hip == end.far.hip  # the working thigh does not swing back or forward
    assert end.near.knee >= 80  # only the knee bends


def test_patrick_step_has_the_wall_it_is_done_beside() -> None:
    picture, _, end = drawn("patrick_step")
    walls = [p for p in picture.props if isinstance(p, SideWall)]
    assert walls
    x0, x1 = walls[0].x
    hand_x, hand_y = end.points["far_hand"]
    assert x0 < hand_x < x1 and hand_y < walls[0].height  # the hand is on the wall


@pytest.mark.parametrize(
    "exercise_id",
    ["alfredson_heel_drop_straight_knee", "alfredson_heel_drop_bent_knee", "hsr_calf_raise"],
)
def test_heel_drops_end_clearly_below_the_step(exercise_id: str) -> None:
    picture, start, end = drawn(exercise_id)
    step = next(p for p in picture.props if isinstance(p, Step))
    lowest_heel = min(start.points["near_heel"][1], end.points["near_heel"][1])
    assert lowest_heel <= step.height - 8, "the heel sinks well below the top of the step"
    assert -6 <= step.x[0] <= 0, "the ball of the foot is on the step's edge"


@pytest.mark.parametrize("exercise_id", ["downward_dog_two_leg", "downward_dog_one_leg"])
def test_the_downward_dog_has_its_hands_and_foot_on_the_floor(exercise_id: str) -> None:
    _, _, end = drawn(exercise_id)
    assert bottom(end, "near_hand") <= 1.0
    assert bottom(end, "near_foot") <= 1.0


@pytest.mark.parametrize("exercise_id", ["hip_flexor_stretch", "knee_to_wall_rocks"])
def test_half_kneeling_has_the_back_knee_and_the_front_foot_down(exercise_id: str) -> None:
    _, start, end = drawn(exercise_id)
    front, back = ("far", "near") if exercise_id == "hip_flexor_stretch" else ("near", "far")
    for frame in (start, end):
        assert bottom(frame, f"{back}_knee") <= 1.0
        assert bottom(frame, f"{front}_foot") <= 1.0


def test_triangle_pose_tilts_over_the_front_leg_with_one_hand_on_it() -> None:
    _, _, end = drawn("triangle_pose")
    points = end.points
    assert points["head"][0] < points["pelvis"][0]  # over the front (near, left) leg
    near_hand, knee = points["near_hand"], points["near_knee"]
    assert abs(near_hand[0] - knee[0]) < 8 and near_hand[1] - knee[1] < 15  # resting on it
    assert points["far_hand"][1] > points["head"][1] + 30  # the other arm reaches up
    assert abs(points["far_hand"][0] - points["far_shoulder"][0]) < 5  # straight up


def test_single_leg_stance_eyes_closed_shows_the_foot_lifting_and_the_eyes_closing() -> None:
    picture, start, end = drawn("single_leg_stance_eyes_closed")
    start_pose, end_pose = load_pictures().poses("single_leg_stance_eyes_closed")
    assert bottom(start, "far_foot") <= 1.0 and bottom(start, "near_foot") <= 1.0
    assert bottom(end, "far_foot") >= 5.0 and bottom(end, "near_foot") <= 1.0
    assert (start_pose.eyes, end_pose.eyes) == ("open", "closed")
    assert any(isinstance(p, SideWall) for p in picture.props)  # support within reach
    label = ET.fromstring(render(LIBRARY["single_leg_stance_eyes_closed"])).attrib["aria-label"]
    assert "the position to hold, eyes closed" in label


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
