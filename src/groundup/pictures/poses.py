"""The pose data behind the exercise pictures, read and checked once.

`pictures.yaml` names a few base poses (standing, sitting on a chair, lying on the back…)
as joint angles of one figure, and gives every exercise a start and an end pose as a base
plus the few joints that change, with its props and the point whose movement the arrow
shows. Angles are degrees; lengths are in figure units (the standing figure is about 170
units tall, a foot about 27 long).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from groundup.knowledge import DATA, KnowledgeError, describe_validation_error, read_yaml

PICTURES_FILE = "pictures.yaml"

LEG_POINTS = ("hip", "knee", "ankle", "heel", "arch", "ball", "toe")
ARM_POINTS = ("shoulder", "elbow", "hand")
POINT_NAMES = frozenset(
    {"pelvis", "neck", "head"}
    | {f"{side}_{p}" for side in ("near", "far") for p in LEG_POINTS + ARM_POINTS}
)


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Leg(Strict):
    """One leg's joints. Zero is standing straight with the foot flat."""

    hip: float = Field(default=0, ge=-60, le=150, description="thigh forward (+) or back (-)")
    abduct: float = Field(default=0, ge=-30, le=90, description="thigh out to the side")
    knee: float = Field(default=0, ge=0, le=165, description="knee bend")
    ankle: float = Field(default=0, ge=-95, le=45, description="foot up (+) or pointed (-)")
    invert: float = Field(default=0, ge=-45, le=45, description="sole turned in (+) or out (-)")
    turn: float = Field(default=0, ge=-60, le=60, description="toes turned out (+) or in (-)")
    toes: float = Field(default=0, ge=-45, le=80, description="toes bent up (+) or curled (-)")
    spread: float = Field(default=0, ge=0, le=1, description="toes spread apart")


class Arm(Strict):
    """One arm's joints. Zero is hanging at the side."""

    flex: float = Field(default=0, ge=-60, le=200, description="arm forward and up")
    abduct: float = Field(default=0, ge=-20, le=180, description="arm out to the side")
    elbow: float = Field(default=0, ge=0, le=160, description="elbow bend")


class Pose(Strict):
    """The whole figure: every joint, resolved."""

    pitch: float = Field(default=0, ge=-180, le=180, description="whole body tipped back (+)")
    roll: float = Field(default=0, ge=-90, le=90, description="whole body onto its side")
    trunk: float = Field(default=0, ge=-60, le=150, description="trunk leaning forward")
    bend: float = Field(default=0, ge=-60, le=60, description="trunk bent to the side")
    neck: float = Field(default=0, ge=-60, le=80, description="head bowed forward")
    lift: float = Field(default=0, ge=0, le=40, description="height of the lowest point")
    shift: float = Field(default=0, ge=-80, le=80, description="moved along the floor")
    eyes: Literal["open", "closed"] = "open"
    near: Leg = Leg()
    far: Leg = Leg()
    near_arm: Arm = Arm()
    far_arm: Arm = Arm()


class LegChange(Strict):
    hip: float | None = None
    abduct: float | None = None
    knee: float | None = None
    ankle: float | None = None
    invert: float | None = None
    turn: float | None = None
    toes: float | None = None
    spread: float | None = None


class ArmChange(Strict):
    flex: float | None = None
    abduct: float | None = None
    elbow: float | None = None


class PoseChange(Strict):
    """A pose written as a base pose plus the joints that differ from it."""

    base: str | None = None
    pitch: float | None = None
    roll: float | None = None
    trunk: float | None = None
    bend: float | None = None
    neck: float | None = None
    lift: float | None = None
    shift: float | None = None
    eyes: Literal["open", "closed"] | None = None
    legs: LegChange | None = Field(default=None, description="both legs")
    near: LegChange | None = None
    far: LegChange | None = None
    arms: ArmChange | None = Field(default=None, description="both arms")
    near_arm: ArmChange | None = None
    far_arm: ArmChange | None = None

    def apply(self, pose: Pose) -> Pose:
        """`pose` with this change's joints set; the result is validated again."""
        data = pose.model_dump()
        for name in ("pitch", "roll", "trunk", "bend", "neck", "lift", "shift", "eyes"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        for both, sides in (("legs", ("near", "far")), ("arms", ("near_arm", "far_arm"))):
            for side in sides:
                for change in (getattr(self, both), getattr(self, side)):
                    if change is not None:
                        data[side].update(change.model_dump(exclude_none=True))
        return Pose.model_validate(data)


Point = tuple[float, float]


class Wall(Strict):
    kind: Literal["wall"]
    at: float | str = Field(description="where the wall stands: a distance or a body point")
    offset: float = Field(default=0, description="added to a body point's position")
    side: Literal["left", "right"] = Field(description="which side of the line is wall")


class SideWall(Strict):
    """A wall beside the person, parallel to the picture, so drawn behind the figure: the
    support a hand rests on when the person stands side-on to a wall."""

    kind: Literal["side_wall"]
    x: tuple[float, float]
    height: float = Field(default=175, gt=0, le=180)


class Chair(Strict):
    kind: Literal["chair"]
    facing: Literal["forward", "back"] = "forward"


class Step(Strict):
    kind: Literal["step"]
    x: tuple[float, float]
    height: float = Field(gt=0, le=60)


class Pad(Strict):
    """Something soft on the floor: a cushion, a foam pad, a mat."""

    kind: Literal["pad"]
    x: tuple[float, float]
    height: float = Field(default=4, gt=0, le=20)


class Towel(Strict):
    kind: Literal["towel"]
    x: tuple[float, float]


class FloorLine(Strict):
    kind: Literal["line"]
    x: float


class Pole(Strict):
    kind: Literal["pole"]
    at: float | str
    offset: float = 0


class Band(Strict):
    """An elastic band from a fixed point, or another body point, to a body point."""

    kind: Literal["band"]
    to: str
    anchor: Point | str


class Weight(Strict):
    kind: Literal["dumbbell", "ankle_weight", "backpack"]
    at: str


class Machine(Strict):
    kind: Literal["treadmill", "stair_climber", "curl_machine"]
    x: float = 0
    console: Literal["front", "back"] = "front"


Prop = Wall | SideWall | Chair | Step | Pad | Towel | FloorLine | Pole | Band | Weight | Machine


class Arrow(Strict):
    """Which body point moves, shown by an arrow from where it starts to where it ends."""

    point: str
    shape: Literal["line", "circle"] = "line"
    direction: float | None = Field(
        default=None,
        description="a fixed direction in degrees (0 right, 90 up) for a small movement",
    )


class Detail(Strict):
    """A close-up of one foot seen from the front, beside the figure."""

    leg: Literal["near", "far"] = "near"
    view: Literal["front", "side"] = "front"
    point: str = Field(default="near_toe", description="the point whose movement is shown")
    direction: float | None = Field(default=None, description="a fixed arrow direction")
    band: Literal["inside", "outside"] | None = Field(
        default=None, description="a band pulling the foot from this side"
    )


class Placement(Strict):
    """How the figure meets the floor: the lowest point at `height`, `point` kept still."""

    point: str = "near_ball"
    height: float = Field(default=0, ge=0, le=60)


class Picture(Strict):
    view: Literal["side", "front"] = "side"
    tilt: float = Field(default=0, ge=0, le=60, description="degrees looking down from above")
    working: Literal["near", "far", "both"] | None = Field(
        default=None, description="legs in the accent colour; default from the laterality"
    )
    start: PoseChange
    end: PoseChange
    hold: bool = Field(default=False, description="the end pose is held, not moved through")
    isometric: bool = Field(
        default=False,
        description="a true hold: the joints hardly move, so the frames may differ only a "
        "little (exempt from the movement check in groundup.pictures.motion)",
    )
    place: Placement = Placement()
    props: tuple[Prop, ...] = ()
    arrow: Arrow | None = None
    detail: Detail | None = None

    @model_validator(mode="after")
    def _isometric_is_a_hold(self) -> Picture:
        if self.isometric and not self.hold:
            raise ValueError("an isometric picture is a hold: add hold: true")
        return self

    @model_validator(mode="after")
    def _points_exist(self) -> Picture:
        names = [self.place.point]
        if self.arrow is not None:
            names.append(self.arrow.point)
        if self.detail is not None:
            names.append(self.detail.point)
        for prop in self.props:
            if isinstance(prop, Band):
                names.append(prop.to)
                if isinstance(prop.anchor, str):
                    names.append(prop.anchor)
            elif isinstance(prop, Weight | Wall | Pole) and isinstance(prop.at, str):
                names.append(prop.at)
        unknown = sorted(set(names) - POINT_NAMES)
        if unknown:
            raise ValueError(f"unknown body point {unknown[0]!r}")
        return self


class PictureFile(Strict):
    bases: dict[str, PoseChange]
    exercises: dict[str, Picture]


class PictureBook:
    """Every exercise's start and end pose, resolved from the base poses."""

    def __init__(self, document: PictureFile) -> None:
        self._bases: dict[str, Pose] = {}
        for name in document.bases:
            self._resolve_base(name, document.bases, ())
        self.pictures = dict(document.exercises)
        self._poses = {
            exercise_id: (self.resolve(p.start, exercise_id), self.resolve(p.end, exercise_id))
            for exercise_id, p in document.exercises.items()
        }

    def _resolve_base(
        self, name: str, bases: Mapping[str, PoseChange], seen: tuple[str, ...]
    ) -> Pose:
        if name in self._bases:
            return self._bases[name]
        if name in seen:
            raise KnowledgeError(f"{PICTURES_FILE}: base pose {name!r} is built from itself")
        if name not in bases:
            raise KnowledgeError(f"{PICTURES_FILE}: unknown base pose {name!r}")
        change = bases[name]
        parent = (
            Pose() if change.base is None else self._resolve_base(change.base, bases, (*seen, name))
        )
        pose = self._apply(change, parent, f"base {name}")
        self._bases[name] = pose
        return pose

    def resolve(self, change: PoseChange, where: str) -> Pose:
        if change.base is not None and change.base not in self._bases:
            raise KnowledgeError(f"{PICTURES_FILE}: {where}: unknown base pose {change.base!r}")
        parent = Pose() if change.base is None else self._bases[change.base]
        return self._apply(change, parent, where)

    @staticmethod
    def _apply(change: PoseChange, parent: Pose, where: str) -> Pose:
        try:
            return change.apply(parent)
        except ValidationError as exc:
            raise KnowledgeError(
                describe_validation_error(exc, f"{PICTURES_FILE}: {where}: ")
            ) from exc

    def poses(self, exercise_id: str) -> tuple[Pose, Pose]:
        return self._poses[exercise_id]

    def base(self, name: str) -> Pose:
        return self._bases[name]


def pictures_from_document(document: Any, exercise_ids: Collection[str]) -> PictureBook:
    """Validate a parsed pictures file against the library's exercise ids."""
    try:
        parsed = PictureFile.model_validate(document)
    except ValidationError as exc:
        raise KnowledgeError(describe_validation_error(exc, f"{PICTURES_FILE}: ")) from exc
    unknown = sorted(set(parsed.exercises) - set(exercise_ids))
    if unknown:
        raise KnowledgeError(f"{PICTURES_FILE}: picture for unknown exercise {unknown[0]!r}")
    missing = sorted(set(exercise_ids) - set(parsed.exercises))
    if missing:
        raise KnowledgeError(
            f"{PICTURES_FILE}: no picture for exercise {missing[0]!r}"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
        )
    return PictureBook(parsed)


@cache
def load_pictures() -> PictureBook:
    """The shipped pose data, checked against the shipped exercise library."""
    from groundup.knowledge import load_library

    return pictures_from_document(read_yaml(DATA / PICTURES_FILE), load_library())
