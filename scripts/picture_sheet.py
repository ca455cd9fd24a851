"""Draw every exercise picture onto contact sheets (PNG) so a person can look at them all.

Usage: .venv/bin/python scripts/picture_sheet.py [OUT_DIR] [--only ID ...]

Each sheet is an HTML grid of the SVGs (with the exercise id under each) rendered to a PDF
by WeasyPrint, the same engine the handouts use, then rasterised with pypdfium2.
"""

from __future__ import annotations

import sys
from html import escape
from pathlib import Path

import pypdfium2
from weasyprint import HTML

from groundup.knowledge import load_library
from groundup.pictures import render

PER_SHEET = 12
PAGE_CSS = """
@page { size: A4; margin: 8mm; }
body { font-family: sans-serif; font-size: 8pt; margin: 0; }
.grid { display: flex; flex-wrap: wrap; }
.cell { width: 50%; box-sizing: border-box; padding: 2mm; border: 0.2mm solid #ccc; height: 44mm; }
.cell svg { width: 100%; height: 36mm; }
"""


def sheet_html(ids: list[str]) -> str:
    library = load_library()
    cells = "".join(
        f'<div class="cell">{render(library[i])}<div>{escape(i)}</div></div>' for i in ids
    )
    return f"<html><head><style>{PAGE_CSS}</style></head><body><div class='grid'>{cells}</div></body></html>"


def main(argv: list[str]) -> None:
    out = Path(argv[0]) if argv and not argv[0].startswith("--") else Path("artifacts/pictures")
    out.mkdir(parents=True, exist_ok=True)
    ids = sorted(load_library())
    if "--only" in argv:
        ids = argv[argv.index("--only") + 1 :]
    for number, first in enumerate(range(0, len(ids), PER_SHEET), start=1):
        pdf = HTML(string=sheet_html(ids[first : first + PER_SHEET])).write_pdf()
        document = pypdfium2.PdfDocument(pdf)
        image = document[0].render(scale=2.2).to_pil()
        target = out / f"sheet-{number:02d}.png"
        image.save(target)
        print(target)


if __name__ == "__main__":
    main(sys.argv[1:])
