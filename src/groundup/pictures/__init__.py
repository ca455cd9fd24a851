"""Pictures of the exercises, drawn as SVG from the project's own pose data.

`render(exercise)` returns one self-contained `<svg>` element (a viewBox, no fixed size,
`role="img"` and a text alternative) that the library, the web app and the handouts all
embed, so every place shows the same drawing.
"""

from __future__ import annotations

from html import escape

from groundup.clinical.exercises import Exercise


def render(exercise: Exercise) -> str:
    """The picture of one exercise as SVG markup (interim drawing: the name in a frame)."""
    name = escape(exercise.name)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 320 200" role="img" '
        f'aria-label="{name}"><title>{name}</title>'
        '<rect x="1" y="1" width="318" height="198" fill="none" stroke="#888"/>'
        f'<text x="160" y="105" text-anchor="middle" font-size="14">{name}</text></svg>'
    )
