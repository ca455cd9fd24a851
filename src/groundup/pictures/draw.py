"""Drawing a picture: the start pose and the end pose side by side as plain SVG.

Only lines, polygons, circles and paths with presentation attributes are written (no
`style`, no CSS variables, no filters, no external references), so the same markup works
inline in the web pages under their Content-Security-Policy and in WeasyPrint handouts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Literal

from groundup.pictures.figure import (
    FOOT_EDGE,
    HEAD_RADIUS,
    LIMB_WIDTH,
    TRUNK_WIDTH,
    Flat,
    Limb,
    View,
    hull,
    pose_body,
    project,
)
from groundup.pictures.poses import (
    Band,
    Chair,
    Detail,
    FloorLine,
    Leg,
    Machine,
    Pad,
    Picture,
    Pole,
    Pose,
    SideWall,
    Step,
    Towel,
    Wall,
    Weight,
)

Phase = Literal["start", "end"]

# Colours: the end pose solid, the start pose the same hues washed out; the working leg in
# an orange that stays distinct for the common colour-vision differences (no red/green).
PALETTE: dict[Phase, dict[str, str]] = {
    "end": {
        "body": "#3d4b5c",
        "back": "#8c98a6",
        "work": "#d35f1c",
        "work_back": "#e8a47a",
    },
    "start": {
        "body": "#a9b3bf",
        "back": "#cfd5dc",
        "work": "#efb08a",
        "work_back": "#f5d0b8",
    },
}
FLOOR = "#6b7682"
PROP = "#b9ab95"
PROP_EDGE = "#8a7b64"
BAND = "#2a7fb8"
ARROW = "#1b5e9a"
WALL_FILL = "#e4e7eb"
TEXT = "#3d4b5c"

PANEL_MARGIN = 14.0
GAP = 40.0
LABEL_SPACE = 18.0


@dataclass
class Shape:
    kind: Literal["line", "poly", "circle"]
    points: list[Flat]
    width: float
    colour: str
    fill: str = "none"
    radius: float = 0.0
    part: str = ""


def _f(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"


def _pts(points: list[Flat]) -> str:
    return " ".join(f"{_f(x)},{_f(y)}" for x, y in points)


@dataclass
class Posed:
    """One pose drawn flat: shapes in floor coordinates (y up, floor at 0) and its points."""

    shapes: list[Shape]
    points: dict[str, Flat]


def _flat(points: list[tuple[float, float, float]]) -> list[Flat]:
    return [(p[0], p[1]) for p in points]


def _pose_shapes(pose: Pose, view: View, tilt: float, phase: Phase, working: set[str]) -> Posed:
    body = pose_body(pose)
    colours = PALETTE[phase]

    def proj(v: tuple[float, float, float]) -> tuple[float, float, float]:
        return project(v, view, tilt)

    def depth(limb: Limb) -> float:
        return sum(proj(j)[2] for j in limb.joints) / len(limb.joints)

    legs = sorted(body.legs, key=depth)
    arms = sorted(body.arms, key=depth)

    def leg_shapes(limb: Limb, behind: bool) -> list[Shape]:
        if limb.side in working:
            colour = colours["work_back" if behind and len(working) > 1 else "work"]
        else:
            colour = colours["back" if behind else "body"]
        joints = _flat([proj(j) for j in limb.joints])
        foot = hull(_flat([proj(p) for p in limb.foot]))
        toes = hull(_flat([proj(p) for p in limb.toes]))
        return [
            Shape("poly", foot, FOOT_EDGE, colour, colour, part=f"{limb.side}_foot"),
            Shape("poly", toes, FOOT_EDGE, colour, colour, part=f"{limb.side}_foot"),
            Shape("line", joints, LIMB_WIDTH, colour, part=f"{limb.side}_leg"),
        ]

    def arm_shape(limb: Limb, behind: bool) -> Shape:
        joints = _flat([proj(j) for j in limb.joints])
        return Shape("line", joints, LIMB_WIDTH - 1.5, colours["back" if behind else "body"])

    trunk = hull(_flat([proj(p) for p in body.trunk]))
    head = proj(body.head)
    nose = proj(body.nose)
    eye = proj(body.eye)
    shapes = [
        arm_shape(arms[0], True),
        *leg_shapes(legs[0], True),
        Shape("poly", trunk, TRUNK_WIDTH, colours["body"], colours["body"]),
        *leg_shapes(legs[1], False),
        Shape("line", [(head[0], head[1]), (nose[0], nose[1])], 4.0, colours["body"]),
        Shape("circle", [(head[0], head[1])], 0, colours["body"], colours["body"], HEAD_RADIUS),
        *_eye(pose, view, eye),
        arm_shape(arms[1], False),
    ]
    points = {name: (proj(v)[0], proj(v)[1]) for name, v in body.points.items()}
    return Posed(shapes, points)


def _eye(pose: Pose, view: View, eye: tuple[float, float, float]) -> list[Shape]:
    """An open eye is a dot, a closed one a short line; only the side view shows it."""
    if view != "side":
        return []
    x, y = eye[0], eye[1]
    if pose.eyes == "closed":
        return [Shape("line", [(x - 2.2, y - 0.6), (x + 2.2, y - 0.6)], 1.6, "#ffffff")]
    return [Shape("circle", [(x, y)], 0, "#ffffff", "#ffffff", 1.6)]


def _lowest(shapes: list[Shape]) -> float:
    low = math.inf
    for shape in shapes:
        for _, y in shape.points:
            low = min(low, y - (shape.radius or shape.width / 2))
    return low


def _shift(posed: Posed, dx: float, dy: float) -> Posed:
    def move(p: Flat) -> Flat:
        return (p[0] + dx, p[1] + dy)

    shapes = [
        Shape(s.kind, [move(p) for p in s.points], s.width, s.colour, s.fill, s.radius, s.part)
        for s in posed.shapes
    ]
    return Posed(shapes, {k: move(p) for k, p in posed.points.items()})


def place(picture: Picture, pose: Pose, phase: Phase, working: set[str]) -> Posed:
    """The pose drawn and set on the floor: its lowest point (or the placement point, when
    it stands on something) at the right height, the placement point at x = 0."""
    posed = _pose_shapes(pose, picture.view, picture.tilt, phase, working)
    anchor = posed.points[picture.place.point]
    if picture.place.height > 0:
        dy = picture.place.height + FOOT_EDGE - anchor[1]
    else:
        dy = -_lowest(posed.shapes)
    return _shift(posed, pose.shift - anchor[0], dy + pose.lift)


# ----- props -------------------------------------------------------------------------------


def _point(posed: Posed, where: tuple[float, float] | str) -> Flat:
    return posed.points[where] if isinstance(where, str) else where


def _prop_shapes(picture: Picture, posed: Posed) -> tuple[list[Shape], list[Shape]]:
    """Props behind the figure and props in front of it (bands, weights)."""
    behind: list[Shape] = []
    front: list[Shape] = []
    for prop in picture.props:
        if isinstance(prop, Wall):
            side = 1.0 if prop.side == "right" else -1.0
            x = (posed.points[prop.at][0] if isinstance(prop.at, str) else prop.at) + prop.offset
            behind.append(
                Shape(
                    "poly",
                    [(x, 0), (x + side * 8, 0), (x + side * 8, 175), (x, 175)],
                    0,
                    WALL_FILL,
                    WALL_FILL,
                )
            )
            behind.append(Shape("line", [(x, 0), (x, 175)], 3, FLOOR))
        elif isinstance(prop, SideWall):
            x0, x1 = prop.x
            corners = [(x0, 0), (x1, 0), (x1, prop.height), (x0, prop.height)]
            behind.append(Shape("poly", corners, 0, WALL_FILL, WALL_FILL))
            behind.append(Shape("line", corners[2:], 3, FLOOR))  # its top edge
        elif isinstance(prop, Chair):
            px, py = posed.points["pelvis"]
            top = py - 9
            back = -1.0 if prop.facing == "forward" else 1.0
            rear, front_x = px + back * 16, px - back * 17
            behind.append(Shape("line", [(rear, top + 40), (rear, 0)], 3.5, PROP_EDGE))
            behind.append(Shape("line", [(front_x, top), (front_x, 0)], 3.5, PROP_EDGE))
            behind.append(Shape("line", [(rear, top - 2), (front_x, top - 2)], 5, PROP_EDGE))
        elif isinstance(prop, Step):
            x0, x1 = prop.x
            behind.append(
                Shape(
                    "poly",
                    [(x0, 0), (x1, 0), (x1, prop.height), (x0, prop.height)],
                    2,
                    PROP_EDGE,
                    PROP,
                )
            )
        elif isinstance(prop, Pad):
            x0, x1 = prop.x
            behind.append(
                Shape(
                    "poly",
                    [(x0, 0), (x1, 0), (x1, prop.height), (x0, prop.height)],
                    2,
                    "#6f9fb8",
                    "#bcd6e4",
                )
            )
        elif isinstance(prop, Towel):
            x0, x1 = prop.x
            behind.append(
                Shape("poly", [(x0, 0), (x1, 0), (x1, 2), (x0, 2)], 1.5, "#5f9e8f", "#a9d3c8")
            )
        elif isinstance(prop, FloorLine):
            behind.append(Shape("line", [(prop.x - 7, 0.5), (prop.x + 7, 0.5)], 3, "#e0a100"))
        elif isinstance(prop, Pole):
            x = (posed.points[prop.at][0] if isinstance(prop.at, str) else prop.at) + prop.offset
            behind.append(Shape("line", [(x, 0), (x, 170)], 5, PROP_EDGE))
        elif isinstance(prop, Band):
            a, b = _point(posed, prop.anchor), _point(posed, prop.to)
            front.append(Shape("line", [a, b], 3, BAND))
            if not isinstance(prop.anchor, str):
                behind.append(Shape("circle", [a], 0, PROP_EDGE, PROP_EDGE, 3))
        elif isinstance(prop, Weight):
            x, y = posed.points[prop.at]
            if prop.kind == "dumbbell":
                front.append(Shape("line", [(x - 6, y), (x + 6, y)], 3, "#555555"))
                front.append(Shape("line", [(x - 7, y - 5), (x - 7, y + 5)], 5, "#555555"))
                front.append(Shape("line", [(x + 7, y - 5), (x + 7, y + 5)], 5, "#555555"))
            elif prop.kind == "ankle_weight":
                front.append(Shape("line", [(x - 3, y - 1), (x + 3, y - 1)], 9, "#555555"))
            else:
                front.append(
                    Shape(
                        "poly",
                        [(x - 20, y - 45), (x - 7, y - 45), (x - 7, y - 8), (x - 20, y - 8)],
                        4,
                        "#555555",
                        "#777777",
                    )
                )
        elif isinstance(prop, Machine):
            behind.extend(_machine(prop, posed))
    return behind, front


def _machine(prop: Machine, posed: Posed) -> list[Shape]:
    x = prop.x
    d = 1.0 if prop.console == "front" else -1.0
    if prop.kind == "treadmill":
        return [
            Shape("poly", [(x - 70, 0), (x + 70, 0), (x + 70, 6), (x - 70, 6)], 2, PROP_EDGE, PROP),
            Shape("line", [(x + d * 66, 6), (x + d * 72, 100), (x + d * 52, 102)], 5, PROP_EDGE),
        ]
    if prop.kind == "stair_climber":
        return [
            Shape(
                "poly", [(x - 40, 0), (x + 40, 0), (x + 40, 10), (x - 40, 10)], 2, PROP_EDGE, PROP
            ),
            Shape("line", [(x + d * 36, 10), (x + d * 46, 110), (x + d * 26, 112)], 5, PROP_EDGE),
        ]
    px = posed.points["pelvis"][0]
    return [
        Shape(
            "poly", [(px - 70, 38), (px + 60, 38), (px + 60, 46), (px - 70, 46)], 2, PROP_EDGE, PROP
        ),
        Shape("line", [(px - 10, 38), (px - 10, 0)], 5, PROP_EDGE),
        Shape("line", [(px + 50, 38), (px + 50, 0)], 5, PROP_EDGE),
    ]


# ----- arrows --------------------------------------------------------------------------------

# The joint a point hangs from: an arrow is set off from the limb on the side away from it.
PARENT = {
    "heel": "ankle",
    "arch": "ankle",
    "ball": "ankle",
    "toe": "ankle",
    "ankle": "knee",
    "knee": "hip",
    "hip": "neck",
    "hand": "elbow",
    "elbow": "shoulder",
    "shoulder": "neck",
    "pelvis": "neck",
    "neck": "pelvis",
    "head": "neck",
}


def _parent(point: str) -> str:
    side, _, joint = point.rpartition("_")
    parent = PARENT[joint]
    return f"{side}_{parent}" if side and parent not in ("neck", "pelvis") else parent


def _arrow_head(tip: Flat, towards: Flat, size: float, colour: str) -> Shape:
    dx, dy = tip[0] - towards[0], tip[1] - towards[1]
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    base = (tip[0] - ux * size, tip[1] - uy * size)
    left = (base[0] - uy * size * 0.55, base[1] + ux * size * 0.55)
    right = (base[0] + uy * size * 0.55, base[1] - ux * size * 0.55)
    return Shape("poly", [tip, left, right], 1, colour, colour)


def curved_arrow(
    a: Flat, b: Flat, away_from: Flat, *, shortest: float = 20, offset: float = 13
) -> list[Shape]:
    """A bowed arrow from a to b, lengthened to `shortest` and set off away from a point."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    distance = math.hypot(dx, dy)
    if distance < 0.5:
        return []
    ux, uy = dx / distance, dy / distance
    if distance < shortest:  # a small movement still gets a readable arrow
        mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
        a = (mid[0] - ux * shortest / 2, mid[1] - uy * shortest / 2)
        b = (mid[0] + ux * shortest / 2, mid[1] + uy * shortest / 2)
        distance = shortest
    nx, ny = -uy, ux
    mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
    if (mid[0] - away_from[0]) * nx + (mid[1] - away_from[1]) * ny < 0:
        nx, ny = -nx, -ny
    a = (a[0] + nx * offset, a[1] + ny * offset)
    b = (b[0] + nx * offset, b[1] + ny * offset)
    bow = distance * 0.25
    control = ((a[0] + b[0]) / 2 + nx * bow, (a[1] + b[1]) / 2 + ny * bow)
    curve = [
        (
            (1 - t) ** 2 * a[0] + 2 * (1 - t) * t * control[0] + t**2 * b[0],
            (1 - t) ** 2 * a[1] + 2 * (1 - t) * t * control[1] + t**2 * b[1],
        )
        for t in (i / 12 for i in range(13))
    ]
    return [Shape("line", curve[:-1], 2.5, ARROW), _arrow_head(curve[-1], curve[-3], 7, ARROW)]


def _motion_arrow(picture: Picture, start: Posed, end: Posed) -> list[Shape]:
    """An arrow from where the moving point starts to where it ends."""
    if picture.arrow is None:
        return []
    point = picture.arrow.point
    a, b = start.points[point], end.points[point]
    if picture.arrow.shape == "circle":
        cx, cy = b
        r = 13.0
        arc = [
            (cx + r * math.cos(math.radians(t)), cy + r * math.sin(math.radians(t)))
            for t in range(20, 330, 10)
        ]
        return [Shape("line", arc, 2.5, ARROW), _arrow_head(arc[-1], arc[-3], 7, ARROW)]
    if picture.arrow.direction is not None:
        angle = math.radians(picture.arrow.direction)
        a = (b[0] - 10 * math.cos(angle), b[1] - 10 * math.sin(angle))
        b = (b[0] + 10 * math.cos(angle), b[1] + 10 * math.sin(angle))
    return curved_arrow(a, b, end.points[_parent(point)])


# ----- the foot close up ---------------------------------------------------------------------------

DETAIL_SCALE = 1.9
DETAIL_RADIUS = 44.0
DETAIL_SHIN = 13.0
DETAIL_SIDE = 0.68  # a foot is longer than it is wide: the side view is drawn smaller


def _detail(picture: Picture, pose: Pose, phase: Phase, working: set[str]) -> Posed:
    """The working foot enlarged, standing, seen from the front or the side: the sole
    tilting in or out, the toes spreading or lifting read here when the whole figure is too
    small to show them."""
    detail = picture.detail
    assert detail is not None
    leg = getattr(pose, detail.leg)
    alone = Pose(near=Leg(invert=leg.invert, toes=leg.toes, spread=leg.spread))
    posed = _pose_shapes(
        alone, detail.view, 0.0, phase, {"near"} if detail.leg in working else set()
    )
    ankle, knee = posed.points["near_ankle"], posed.points["near_knee"]
    length = math.hypot(knee[0] - ankle[0], knee[1] - ankle[1])
    top = (
        ankle[0] + (knee[0] - ankle[0]) * DETAIL_SHIN / length,
        ankle[1] + (knee[1] - ankle[1]) * DETAIL_SHIN / length,
    )
    foot = [s for s in posed.shapes if s.part == "near_foot"]
    colour = foot[0].colour
    shapes = [Shape("line", [ankle, top], LIMB_WIDTH, colour), *foot]
    low = _lowest(shapes)

    x0, x1, _, _ = _bounds(shapes)
    middle = (x0 + x1) / 2
    factor = DETAIL_SCALE * (DETAIL_SIDE if detail.view == "side" else 1.0)

    def scale(p: Flat) -> Flat:
        return ((p[0] - middle) * factor, (p[1] - low) * factor)

    scaled = [
        Shape(
            s.kind,
            [scale(p) for p in s.points],
            s.width * factor,
            s.colour,
            s.fill,
            s.radius * factor,
        )
        for s in shapes
    ]
    floor = Shape("line", [(-DETAIL_RADIUS * 0.8, -1.5), (DETAIL_RADIUS * 0.8, -1.5)], 2.5, FLOOR)
    points = {k: scale(v) for k, v in posed.points.items()}
    extra = []
    if detail.band is not None:
        # Seen from the front the near foot's outer edge is on the left.
        side = -1.0 if detail.band == "outside" else 1.0
        toe = points["near_toe"]
        anchor = (side * DETAIL_RADIUS * 0.8, toe[1] + 4)
        extra = [
            Shape("line", [anchor, toe], 3, BAND),
            Shape("circle", [anchor], 0, PROP_EDGE, PROP_EDGE, 3),
        ]
    return Posed([floor, *scaled, *extra], points)


def _detail_arrow(detail: Detail, details: list[Posed], offset: Flat) -> list[Shape]:
    def at(p: Flat) -> Flat:
        return (p[0] + offset[0], p[1] + offset[1])

    a, b = at(details[0].points[detail.point]), at(details[1].points[detail.point])
    if detail.direction is not None:
        angle = math.radians(detail.direction)
        ux, uy = math.cos(angle), math.sin(angle)
        return curved_arrow(
            (b[0] - 9 * ux, b[1] - 9 * uy), (b[0] + 9 * ux, b[1] + 9 * uy), b, offset=0
        )
    ankle = at(details[1].points["near_ankle"])
    return curved_arrow(a, b, (ankle[0], ankle[1] - 30), offset=6)


def _bubble(detail: Posed, centre: Flat) -> list[Shape]:
    dx, dy = centre[0], centre[1] - DETAIL_RADIUS * 0.55
    circle = Shape("circle", [centre], 2, "#9aa5b1", "#ffffff", DETAIL_RADIUS)
    moved = _shift(detail, dx, dy)
    return [circle, *moved.shapes]


# ----- the whole picture -----------------------------------------------------------------------


def _bounds(shapes: list[Shape]) -> tuple[float, float, float, float]:
    xs: list[float] = []
    ys: list[float] = []
    for s in shapes:
        pad = s.radius or s.width / 2
        for x, y in s.points:
            xs += [x - pad, x + pad]
            ys += [y - pad, y + pad]
    return min(xs), max(xs), min(ys), max(ys)


def _svg_shape(shape: Shape, dx: float, top: float) -> str:
    pts = [(x + dx, top - y) for x, y in shape.points]
    if shape.kind == "circle":
        (x, y) = pts[0]
        stroke = f' stroke="{shape.colour}" stroke-width="{_f(shape.width)}"' if shape.width else ""
        return f'<circle cx="{_f(x)}" cy="{_f(y)}" r="{_f(shape.radius)}" fill="{shape.fill}"{stroke}/>'
    if shape.kind == "poly":
        stroke = (
            f' stroke="{shape.colour}" stroke-width="{_f(shape.width)}" stroke-linejoin="round"'
            if shape.width
            else ""
        )
        return f'<polygon points="{_pts(pts)}" fill="{shape.fill}"{stroke}/>'
    return (
        f'<polyline points="{_pts(pts)}" fill="none" stroke="{shape.colour}" '
        f'stroke-width="{_f(shape.width)}" stroke-linecap="round" stroke-linejoin="round"/>'
    )


def picture_svg(
    picture: Picture,
    start_pose: Pose,
    end_pose: Pose,
    working: set[str],
    name: str,
    description: str,
) -> str:
    """The picture as one self-contained SVG element."""
    start = place(picture, start_pose, "start", working)
    end = place(picture, end_pose, "end", working)
    panels: list[tuple[list[Shape], list[Shape]]] = []
    for pose, posed in ((start_pose, start), (end_pose, end)):
        behind, front = _prop_shapes(picture, posed)
        if pose.lift > 0:  # a shadow on the floor shows the figure is in the air
            x = posed.points["pelvis"][0]
            behind.append(
                Shape(
                    "poly",
                    [
                        (x + 22 * math.cos(t / 8 * math.pi), 1.5 + 2.5 * math.sin(t / 8 * math.pi))
                        for t in range(16)
                    ],
                    0,
                    "#c9d0d8",
                    "#c9d0d8",
                )
            )
        panels.append((behind, posed.shapes + front))
    panels[1][1].extend(_motion_arrow(picture, start, end))
    x0, x1, y0, y1 = _bounds([s for behind, shapes in panels for s in behind + shapes])
    if picture.detail is not None:
        centre = (x1 + DETAIL_RADIUS + 8, DETAIL_RADIUS + 4)
        details = [
            _detail(picture, start_pose, "start", working),
            _detail(picture, end_pose, "end", working),
        ]
        for (_, shapes), detail in zip(panels, details, strict=True):
            shapes.extend(_bubble(detail, centre))
        dx, dy = centre[0], centre[1] - DETAIL_RADIUS * 0.55
        panels[1][1].extend(_detail_arrow(picture.detail, details, (dx, dy)))
        x0, x1, y0, y1 = _bounds([s for behind, shapes in panels for s in behind + shapes])
    y0 = min(y0, 0.0)
    width = max(x1 - x0, 60.0) + 2 * PANEL_MARGIN
    height = y1 - y0 + 2 * PANEL_MARGIN + LABEL_SPACE
    top = y1 + PANEL_MARGIN  # floor-coordinate y shown at the top edge
    total = 2 * width + GAP
    parts: list[str] = []
    labels = ("Start", "Hold" if picture.hold else "End")
    for index, (behind, shapes) in enumerate(panels):
        left = index * (width + GAP)
        dx = left + PANEL_MARGIN - x0
        floor_y = top
        parts.append(
            f'<line x1="{_f(left + 4)}" y1="{_f(floor_y)}" x2="{_f(left + width - 4)}" '
            f'y2="{_f(floor_y)}" stroke="{FLOOR}" stroke-width="2.5" stroke-linecap="round"/>'
        )
        parts.extend(_svg_shape(s, dx, top) for s in behind + shapes)
        parts.append(
            f'<text x="{_f(left + width / 2)}" y="{_f(height - 5)}" text-anchor="middle" '
            f'font-family="sans-serif" font-size="13" fill="{TEXT}">{labels[index]}</text>'
        )
    # The big arrow between the panels: from the start to the end.
    mid_y = top - (y1 + max(y0, 0)) / 2 if y1 > 0 else top / 2
    gx = width + GAP / 2
    parts.append(
        f'<polygon points="{_pts([(gx - 12, mid_y - 5), (gx + 2, mid_y - 5), (gx + 2, mid_y - 11), (gx + 13, mid_y), (gx + 2, mid_y + 11), (gx + 2, mid_y + 5), (gx - 12, mid_y + 5)])}" fill="{ARROW}"/>'
    )
    label = escape(description, quote=True)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_f(total)} {_f(height)}" '
        f'role="img" aria-label="{label}" class="exercise-picture">'
        f"<title>{escape(name)}</title><desc>{escape(description)}</desc>"
        + "".join(parts)
        + "</svg>"
    )
