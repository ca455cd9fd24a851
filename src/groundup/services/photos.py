"""Uploaded photos of own exercises: checked from their content, then re-encoded.

Only JPEG, PNG and WebP photos are taken, whatever the file is called: the type is read
from the bytes (the signature, then Pillow), never from the name or the browser's word.
A file too large, with too many pixels (a decompression bomb), holding markup that a
browser could run (SVG, HTML, PHP, a script: a polyglot), or that Pillow cannot decode
whole, is refused with one clear message. What is kept is a fresh JPEG drawn from the
decoded pixels (turned upright, at most 1600 pixels a side, no metadata such as the
place it was taken), so nothing of the uploaded file itself is ever served.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000  # e.g. 8000 × 5000: larger is a bomb, not a phone photo
MAX_SIDE = 1600
FORMATS = {"JPEG", "PNG", "WEBP"}
# Markup a browser could run, anywhere in the file: a polyglot hides a page in a picture.
MARKUP = re.compile(
    rb"<\?php|<\?=|<script[\s>/]|<html[\s>]|<svg[\s>/]|<!doctype\s+html|<iframe[\s>]|"
    rb"<body[\s>]|<object[\s>]|<embed[\s>]|javascript:",
    re.IGNORECASE,
)
ACCEPTED = "a JPEG, PNG or WebP photo"


class PhotoRefused(ValueError):
    """An upload that is not a usable photo; the message says why, in one line."""


@dataclass(frozen=True)
class Photo:
    data: bytes
    content_type: str
    width: int
    height: int


def _signature(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def check_photo(data: bytes) -> Photo:
    """The upload as a clean JPEG, or PhotoRefused."""
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRefused(
            f"the file is larger than {MAX_PHOTO_BYTES // (1024 * 1024)} MB; send a smaller photo"
        )
    if not data:
        raise PhotoRefused(f"the file is empty; send {ACCEPTED}")
    kind = _signature(data)
    if kind is None:
        raise PhotoRefused(f"the file is not {ACCEPTED} (whatever its name says)")
    if MARKUP.search(data):
        raise PhotoRefused("the file holds web-page code as well as a picture; send a plain photo")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[kind]) as image:
                width, height = image.size
                if width < 1 or height < 1 or width * height > MAX_PIXELS:
                    raise PhotoRefused(
                        f"the picture is {width} × {height} pixels; at most "
                        f"{MAX_PIXELS // 1_000_000} million pixels are taken"
                    )
                if getattr(image, "n_frames", 1) > 1:
                    raise PhotoRefused("the picture is animated; send a still photo")
                image.load()
                upright = ImageOps.exif_transpose(image)
                if upright.mode not in ("RGB", "L"):
                    rgba = upright.convert("RGBA")
                    flat = Image.new("RGB", rgba.size, (255, 255, 255))
                    flat.paste(rgba, mask=rgba.getchannel("A"))
                    upright = flat
                elif upright.mode == "L":
                    upright = upright.convert("RGB")
                upright.thumbnail((MAX_SIDE, MAX_SIDE))
                out = io.BytesIO()
                upright.save(out, format="JPEG", quality=85, optimize=True)
                return Photo(out.getvalue(), "image/jpeg", upright.width, upright.height)
    except PhotoRefused:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise PhotoRefused(
            f"the picture has too many pixels; at most {MAX_PIXELS // 1_000_000} million are taken"
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise PhotoRefused(
            f"the file is not {ACCEPTED} that can be read whole ({type(exc).__name__})"
        ) from None
