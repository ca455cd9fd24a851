"""Pictures of the exercises, drawn as SVG from the project's own pose data.

`render(exercise)` returns one self-contained `<svg>` element (a viewBox, no fixed size,
`role="img"` and a text alternative) that the library, the web app and the handouts all
embed, so every place shows the same drawing. The poses live in
`knowledge/data/pictures.yaml` (see `poses`); `figure` turns joint angles into a posed
figure and `draw` lays the start and end pose side by side with props and an arrow.
"""

from __future__ import annotations

from groundup.clinical.exercises import Exercise
from groundup.clinical.vocabulary import Laterality, Position
from groundup.pictures.draw import picture_svg
from groundup.pictures.poses import Picture, Pose, PoseChange, load_pictures

# An exercise from outside the shipped library still gets a figure in its position.
FALLBACK_BASE = {
    Position.SUPINE: "supine",
    Position.SEATED: "chair",
    Position.STANDING: "stand",
    Position.KNEELING: "tall_kneel",
    Position.PRONE: "prone",
    Position.QUADRUPED: "hands_knees",
    Position.WALKING: "stand",
}


def working_legs(picture: Picture, exercise: Exercise) -> set[str]:
    """Which drawn legs carry the accent colour."""
    if picture.working is not None:
        return {"near", "far"} if picture.working == "both" else {picture.working}
    return {"near"} if exercise.laterality is Laterality.ONE_LEG else {"near", "far"}


def describe(exercise: Exercise, picture: Picture, working: set[str], end_pose: Pose) -> str:
    """The picture's text alternative."""
    end = "the position to hold" if picture.hold else "the end position"
    if end_pose.eyes == "closed":
        end += ", eyes closed"
    legs = "the working leg" if len(working) == 1 else "both working legs"
    arrow = ", the blue arrow shows the movement" if picture.arrow or picture.detail else ""
    close_up = "; the circle shows the foot close up" if picture.detail else ""
    return (
        f"{exercise.name}: on the left the starting position, on the right {end}; "
        f"{legs} in orange{arrow}{close_up}."
    )


def render(exercise: Exercise) -> str:
    """The picture of one exercise as SVG markup."""
    book = load_pictures()
    if exercise.id in book.pictures:
        picture = book.pictures[exercise.id]
        start, end = book.poses(exercise.id)
    else:
        change = PoseChange(base=FALLBACK_BASE[exercise.position])
        picture = Picture(start=change, end=change)
        start = end = book.resolve(change, exercise.id)
    working = working_legs(picture, exercise)
    return picture_svg(
        picture, start, end, working, exercise.name, describe(exercise, picture, working, end)
    )
