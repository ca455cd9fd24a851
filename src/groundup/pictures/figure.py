"""From joint angles to a figure on the page: forward kinematics and projection.

The figure is posed in three dimensions (x forward, y up, z towards the person's working,
"near" side) and projected flat: from the side (the person faces right, working leg
towards the viewer) or from the front (the person faces the viewer). Every shape is
returned as plain points, so drawing stays a separate step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from groundup.pictures.poses import Arm, Leg, Pose

Vector = tuple[float, float, float]
Matrix = tuple[Vector, Vector, Vector]
Flat = tuple[float, float]
View = Literal["side", "front"]

# Segment lengths in figure units (standing height about 170).
HIP_HALF_WIDTH = 8.0
SHOULDER_HALF_WIDTH = 14.0
TRUNK = 50.0
NECK = 15.0
HEAD_RADIUS = 10.0
THIGH = 43.0
SHIN = 42.0
UPPER_ARM = 29.0
FOREARM = 27.0

# Half stroke widths, so the figure rests on the floor by its outline, not its centre line.
LIMB_WIDTH = 8.0
TRUNK_WIDTH = 13.0
FOOT_EDGE = 2.5

# The foot in its own frame (ankle at the origin, x towards the toes, z outwards): a
# rounded heel, a long sole to the ball of the foot, and separate toes so that lifting the
# heel or the front of the foot reads at a glance.
FOOT_SHAPE: tuple[Vector, ...] = (
    (-7.0, -4.0, 0.0),
    (-6.0, -7.5, 2.5),
    (-6.0, -7.5, -2.5),
    (-3.0, -9.0, 3.0),
    (-3.0, -9.0, -3.0),
    (16.0, -9.0, 5.0),
    (16.0, -9.0, -4.0),
    (15.0, -4.5, 4.5),
    (15.0, -4.5, -3.5),
    (4.0, 2.0, 3.0),
    (4.0, 2.0, -3.0),
    (-4.0, 2.0, 3.0),
    (-4.0, 2.0, -3.0),
)
TOE_JOINT: Vector = (16.0, -6.5, 0.0)
TOE_SHAPE: tuple[Vector, ...] = (
    (0.0, -2.5, 5.0),
    (0.0, -2.5, -4.0),
    (8.0, -2.5, 3.5),
    (8.0, -2.5, -3.0),
    (9.0, -0.5, 0.0),
    (7.0, 1.2, 3.0),
    (7.0, 1.2, -3.0),
    (0.0, 2.0, 4.5),
    (0.0, 2.0, -3.5),
)
HEEL: Vector = (-4.0, -9.0, 0.0)
ARCH: Vector = (6.0, -9.0, 0.0)
BALL: Vector = (16.0, -9.0, 0.0)
TOE_TIP: Vector = (9.0, -2.5, 0.0)


FOOT_SCALE = 1.25


def _rz(degrees: float) -> Matrix:
    """Turn about the side-to-side axis: + moves a downward limb forwards."""
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    return ((c, -s, 0.0), (s, c, 0.0), (0.0, 0.0, 1.0))


def _rx(degrees: float) -> Matrix:
    """Turn about the front-to-back axis."""
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    return ((1.0, 0.0, 0.0), (0.0, c, -s), (0.0, s, c))


def _ry(degrees: float) -> Matrix:
    """Turn about the vertical axis."""
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    return ((c, 0.0, s), (0.0, 1.0, 0.0), (-s, 0.0, c))


def _mul(a: Matrix, b: Matrix) -> Matrix:
    rows = tuple(
        tuple(sum(a[i][k] * b[k][j] for k in range(3)) for j in range(3)) for i in range(3)
    )
    return rows  # type: ignore[return-value]


def _apply(m: Matrix, v: Vector) -> Vector:
    return (
        m[0][0] * v[0] + m[0][1] * v[1] + m[0][2] * v[2],
        m[1][0] * v[0] + m[1][1] * v[1] + m[1][2] * v[2],
        m[2][0] * v[0] + m[2][1] * v[1] + m[2][2] * v[2],
    )


def _add(a: Vector, b: Vector) -> Vector:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def _chain(*matrices: Matrix) -> Matrix:
    result = matrices[0]
    for m in matrices[1:]:
        result = _mul(result, m)
    return result


@dataclass
class Limb:
    """One leg or arm: its joints from the root outwards, and for a leg its foot."""

    side: Literal["near", "far"]
    joints: list[Vector]
    foot: list[Vector] = field(default_factory=list)
    toes: list[Vector] = field(default_factory=list)


@dataclass
class Body:
    """A posed figure in three dimensions, with named points for props and arrows."""

    trunk: list[Vector]
    head: Vector
    nose: Vector
    eye: Vector
    legs: list[Limb]
    arms: list[Limb]
    points: dict[str, Vector]


def _leg(root: Matrix, side: Literal["near", "far"], leg: Leg, points: dict[str, Vector]) -> Limb:
    s = 1.0 if side == "near" else -1.0
    hip = _apply(root, (0.0, 0.0, s * HIP_HALF_WIDTH))
    thigh = _chain(root, _rz(leg.hip), _rx(-s * leg.abduct), _ry(-s * leg.turn))
    knee = _add(hip, _apply(thigh, (0.0, -THIGH, 0.0)))
    shin = _mul(thigh, _rz(-leg.knee))
    ankle = _add(knee, _apply(shin, (0.0, -SHIN, 0.0)))
    foot = _chain(shin, _rz(leg.ankle), _rx(s * leg.invert))
    toes = _mul(foot, _rz(leg.toes))
    toe_joint = _add(ankle, _apply(foot, tuple(c * FOOT_SCALE for c in TOE_JOINT)))  # type: ignore[arg-type]

    def in_foot(v: Vector) -> Vector:
        scaled = (v[0] * FOOT_SCALE, v[1] * FOOT_SCALE, s * v[2] * FOOT_SCALE)
        return _add(ankle, _apply(foot, scaled))

    widen = 1.0 + leg.spread

    def in_toes(v: Vector) -> Vector:
        scaled = (v[0] * FOOT_SCALE, v[1] * FOOT_SCALE, s * v[2] * widen * FOOT_SCALE)
        return _add(toe_joint, _apply(toes, scaled))

    points.update(
        {
            f"{side}_hip": hip,
            f"{side}_knee": knee,
            f"{side}_ankle": ankle,
            f"{side}_heel": in_foot(HEEL),
            f"{side}_arch": in_foot(ARCH),
            f"{side}_ball": in_foot(BALL),
            f"{side}_toe": in_toes(TOE_TIP),
        }
    )
    return Limb(
        side,
        [hip, knee, ankle],
        [in_foot(v) for v in FOOT_SHAPE],
        [in_toes(v) for v in TOE_SHAPE],
    )


def _arm(
    chest: Matrix, neck: Vector, side: Literal["near", "far"], arm: Arm, points: dict[str, Vector]
) -> Limb:
    s = 1.0 if side == "near" else -1.0
    shoulder = _add(neck, _apply(chest, (0.0, -3.0, s * SHOULDER_HALF_WIDTH)))
    upper = _chain(chest, _rz(arm.flex), _rx(-s * arm.abduct))
    elbow = _add(shoulder, _apply(upper, (0.0, -UPPER_ARM, 0.0)))
    fore = _mul(upper, _rz(arm.elbow))
    hand = _add(elbow, _apply(fore, (0.0, -FOREARM, 0.0)))
    points.update({f"{side}_shoulder": shoulder, f"{side}_elbow": elbow, f"{side}_hand": hand})
    return Limb(side, [shoulder, elbow, hand])


def pose_body(pose: Pose) -> Body:
    """Forward kinematics: every joint's position for a pose, pelvis at the origin."""
    root = _mul(_rz(pose.pitch), _rx(-pose.roll))
    chest = _chain(root, _rz(-pose.trunk), _rx(pose.bend))
    pelvis: Vector = (0.0, 0.0, 0.0)
    neck = _apply(chest, (0.0, TRUNK, 0.0))
    head_frame = _mul(chest, _rz(-pose.neck))
    head = _add(neck, _apply(head_frame, (0.0, NECK, 0.0)))
    nose = _add(head, _apply(head_frame, (HEAD_RADIUS + 2.5, 0.5, 0.0)))
    eye = _add(head, _apply(head_frame, (4.5, 2.0, 0.0)))
    points: dict[str, Vector] = {"pelvis": pelvis, "neck": neck, "head": head}
    legs = [_leg(root, "far", pose.far, points), _leg(root, "near", pose.near, points)]
    arms = [
        _arm(chest, neck, "far", pose.far_arm, points),
        _arm(chest, neck, "near", pose.near_arm, points),
    ]
    trunk = [
        _apply(root, (0.0, 0.0, HIP_HALF_WIDTH)),
        _apply(root, (0.0, 0.0, -HIP_HALF_WIDTH)),
        _add(neck, _apply(chest, (0.0, -4.0, -SHOULDER_HALF_WIDTH + 3))),
        _add(neck, _apply(chest, (0.0, -4.0, SHOULDER_HALF_WIDTH - 3))),
    ]
    return Body(trunk, head, nose, eye, legs, arms, points)


def project(v: Vector, view: View, tilt: float = 0.0) -> tuple[float, float, float]:
    """Screen x, height above the origin, and depth (larger is nearer the viewer).

    `tilt` looks down from above by that many degrees, so limbs pointing at the viewer
    (legs stretched out towards a front view) still show their length.
    """
    across, depth = (v[0], v[2]) if view == "side" else (-v[2], v[0])
    t = math.radians(tilt)
    return (
        across,
        v[1] * math.cos(t) - depth * math.sin(t),
        depth * math.cos(t) + v[1] * math.sin(t),
    )


def hull(points: list[Flat]) -> list[Flat]:
    """The convex outline of flat points (monotone chain), for feet seen from any side."""
    pts = sorted(set(points))
    if len(pts) <= 2:
        return pts

    def cross(o: Flat, a: Flat, b: Flat) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[Flat] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[Flat] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]
