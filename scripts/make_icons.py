"""Draw groundup's app icons (the home-screen, maskable, Apple touch, favicon and
notification-badge sizes) into src/groundup/web/static/icons.

The mark: three steps rising from the ground, with a dot on the top step — a program that
goes up a step at a time. Drawn four times larger and scaled down, for smooth edges.
Run it again after changing the drawing: `.venv/bin/python scripts/make_icons.py`.
tests/test_install.py checks that the committed icons are what this script draws.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "src" / "groundup" / "web" / "static" / "icons"
BLUE = (11, 92, 173, 255)  # the app's accent colour
WHITE = (255, 255, 255, 255)
AMBER = (242, 183, 5, 255)  # the app's focus colour
CLEAR = (0, 0, 0, 0)
SCALE = 4

# name: (size in pixels, how it is drawn)
ICON_FILES = {
    "icon-192.png": (192, "rounded"),
    "icon-512.png": (512, "rounded"),
    "maskable-192.png": (192, "maskable"),
    "maskable-512.png": (512, "maskable"),
    "apple-touch-icon.png": (180, "square"),
    "favicon-32.png": (32, "rounded"),
    "badge-96.png": (96, "badge"),
}


def _mark(
    draw: ImageDraw.ImageDraw, size: int, box: float, colour: tuple[int, ...], dot: tuple[int, ...]
) -> None:
    """The steps and the dot, filling a centred square `box` wide (fraction of `size`)."""
    side = size * box
    left = (size - side) / 2
    top = (size - side) / 2
    step = side / 3
    ground = top + side * 0.99
    rise = side * 0.25
    points = [(left, ground)]
    for n in range(3):
        x = left + step * n
        y = ground - rise * (n + 1)
        points += [(x, y), (x + step, y)]
    points += [(left + side, ground)]
    draw.polygon(points, fill=colour)
    radius = side * 0.085
    cx = left + side - step / 2
    cy = ground - rise * 3 - radius * 1.9
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=dot)


def draw_icon(size: int, style: str) -> Image.Image:
    big = size * SCALE
    image = Image.new("RGBA", (big, big), CLEAR)
    draw = ImageDraw.Draw(image)
    if style == "rounded":
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 0.2, fill=BLUE)
        _mark(draw, big, 0.66, WHITE, AMBER)
    elif style == "maskable":
        # Full bleed; the mark stays inside the central safe circle (80 % of the width).
        draw.rectangle((0, 0, big, big), fill=BLUE)
        _mark(draw, big, 0.5, WHITE, AMBER)
    elif style == "square":
        draw.rectangle((0, 0, big, big), fill=BLUE)
        _mark(draw, big, 0.6, WHITE, AMBER)
    else:  # badge: the shape alone, the system colours it
        _mark(draw, big, 0.86, WHITE, WHITE)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ICONS, help="folder to write the icons to")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, (size, style) in ICON_FILES.items():
        draw_icon(size, style).save(args.out / name, optimize=True)
        print(f"{args.out / name}: {size}×{size}, {style}")


if __name__ == "__main__":
    main()
