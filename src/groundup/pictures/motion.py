"""Does a drawing show the movement it teaches? The check behind every exercise picture.

A picture of a moving exercise must change at least one joint by `MIN_JOINT_CHANGE`
degrees between its start and end frames, and the body point its arrow marks must travel
at least `MIN_TRAVEL` figure units as drawn (a foot is about 27 long), so that the two
frames differ where the exercise moves, not only in a detail such as a closed eye.

A true hold, an isometric contraction whose joints hardly move (doming the arch), is
declared `isometric: true` in pictures.yaml and is exempt; it must also be a `hold`.
"""

from __future__ import annotations

import math

from groundup.pictures.draw import place
from groundup.pictures.poses import Picture, Pose

MIN_JOINT_CHANGE = 10.0
MIN_TRAVEL = 5.0
SPREAD_DEGREES = 90.0  # toes spread fully apart (1.0) counts as a 90-degree change


def joint_angles(pose: Pose) -> dict[str, float]:
    """Every joint angle of a pose in degrees, keyed like `near.knee` or `trunk`."""
    angles = {name: getattr(pose, name) for name in ("pitch", "roll", "trunk", "bend", "neck")}
    for limb in ("near", "far", "near_arm", "far_arm"):
        for joint, value in getattr(pose, limb).model_dump().items():
            angles[f"{limb}.{joint}"] = value * SPREAD_DEGREES if joint == "spread" else value
    return angles


def joint_changes(start: Pose, end: Pose) -> dict[str, float]:
    """The joints that differ between two poses, with the size of the change in degrees."""
    before, after = joint_angles(start), joint_angles(end)
    return {name: abs(after[name] - before[name]) for name in before if after[name] != before[name]}


def arrow_travel(picture: Picture, start: Pose, end: Pose) -> float | None:
    """How far the point the arrow marks moves between the frames as drawn, in figure
    units; None when there is no straight arrow (a circling arrow or a close-up of the
    foot shows the movement instead)."""
    if picture.arrow is None or picture.arrow.shape == "circle":
        return None
    point = picture.arrow.point
    a = place(picture, start, "start", set()).points[point]
    b = place(picture, end, "end", set()).points[point]
    return math.dist(a, b)


def motion_problems(picture: Picture, start: Pose, end: Pose) -> list[str]:
    """What keeps a picture from showing its movement, in words; empty when it does."""
    if picture.isometric:
        return []
    problems = []
    changes = joint_changes(start, end)
    joint, biggest = max(changes.items(), key=lambda item: item[1], default=("none", 0.0))
    if biggest < MIN_JOINT_CHANGE:
        problems.append(
            f"no joint changes by {MIN_JOINT_CHANGE:g} degrees or more between the frames "
            f"(largest: {joint}, {biggest:g}); draw the movement, or declare a true hold "
            "with isometric: true"
        )
    travel = arrow_travel(picture, start, end)
    if travel is not None and travel < MIN_TRAVEL:
        assert picture.arrow is not None
        problems.append(
            f"the arrow's point {picture.arrow.point} moves only {travel:.1f} units "
            f"(at least {MIN_TRAVEL:g}): the frames do not differ where the arrow says"
        )
    return problems
