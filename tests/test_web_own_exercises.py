"""Own exercises on the clinician's pages: the form, the photo, the hostile uploads, and
the photo's address with its headers."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from groundup.knowledge import load_rules
from groundup.services import Services
from groundup.services.accounts import Account, Accounts
from groundup.services.photos import MAX_PHOTO_BYTES, PhotoRefused, check_photo
from groundup.storage.database import Database
from groundup.storage.models import ExercisePicture, OwnExercise
from groundup.web.app import create_app

PASSWORD = "a long enough secret"


class Site:
    def __init__(self, tmp: Path) -> None:
        self.database = Database(f"sqlite:///{tmp / 'web.db'}")
        self.services = Services(self.database, load_rules(), actor="test")
        self.app = create_app(services=self.services)
        self.accounts: Accounts = self.app.state.accounts
        self.c = self.accounts.create_user("c@example.org", "Dr Cee", "clinician", PASSWORD)
        self.d = self.accounts.create_user("d@example.org", "Dr Dee", "clinician", PASSWORD)
        self.patient_id, code = self.accounts.create_patient(self.c, "Pat Client")
        self.person = self.accounts.register_person(
            "p@example.org", "Pat Client", PASSWORD, invite=code
        )
        self.stranger = self.accounts.register_person("s@example.org", "Sam Else", PASSWORD)

    def client(self, account: Account | None) -> tuple[TestClient, str]:
        client = TestClient(self.app, raise_server_exceptions=False, follow_redirects=False)
        if account is None:
            return client, ""
        cookie, csrf = self.accounts.start_session(account, second_factor=True)
        client.cookies.set("gu_session", cookie)
        return client, csrf

    def count(self, model: Any) -> int:
        with self.database.reading() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    s = Site(tmp_path)
    yield s
    s.database.dispose()


def exercise_form(csrf: str, **changes: str | list[str]) -> dict[str, Any]:
    form: dict[str, Any] = {
        "csrf": csrf,
        "id": "towel_calf_hold",
        "name": "Towel calf hold",
        "summary": "Rising onto a rolled towel and holding loads the calf at an easy angle.",
        "kind": "strength",
        "position": "standing",
        "laterality": "both_legs",
        "dose_type": "reps",
        "role_gastrocnemius": "prime_mover",
        "role_soleus": "synergist",
        "phases": ["low_load_resistance", "higher_load"],
        "equipment": ["wall"],
        "dose_sets": "3",
        "dose_amount": "10",
        "dose_range_low": "8",
        "dose_range_high": "15",
        "dose_rest_seconds": "60",
        "tempo_lowering": "3",
        "tempo_lifting": "1",
        "tempo_top": "3",
        "knob_name": "towel height",
        "knob_levels": "flat towel, rolled towel, two towels",
        "knob_default": "rolled towel",
        "knob_easier_how": "Use a flat towel.",
        "knob_harder_how": "Stack a second towel.",
        "steps": "Stand facing a wall, toes on a rolled towel.\nRise, hold three seconds, lower slowly.",
        "cues": "Weight over the big toe.",
        "faults": "The ankles roll outwards. | Press the big toe down.",
        "cautions": "Stop if the calf pain passes 5 out of 10.",
        "regression": "calf_raise_wall",
        "sources": "Own clinical practice",
    }
    form.update(changes)
    return form


def create(site: Site) -> tuple[TestClient, str]:
    client, csrf = site.client(site.c)
    response = client.post("/clinic/exercises/new", data=exercise_form(csrf))
    assert response.status_code == 303, response.text[:2000]
    assert response.headers["location"] == "/clinic/exercises/towel_calf_hold?saved=1"
    return client, csrf


def jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(out, format="JPEG")
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height, with one tiny compressed row: the shape
    of a decompression bomb (its pixels would fill gigabytes)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


def test_a_clinician_creates_edits_and_retires_an_exercise_on_the_pages(site: Site) -> None:
    client, csrf = create(site)
    page = client.get("/clinic/exercises/towel_calf_hold")
    assert page.status_code == 200 and "Towel calf hold" in page.text
    assert 'value="rolled towel"' in page.text  # the knob came back into the form
    listing = client.get("/clinic/exercises")
    assert "towel_calf_hold" in listing.text and "v1" in listing.text
    edited = client.post(
        "/clinic/exercises/towel_calf_hold", data=exercise_form(csrf, name="Towel calf raise hold")
    )
    assert edited.status_code == 303 and edited.headers["location"].endswith("saved=2")
    retired = client.post("/clinic/exercises/towel_calf_hold/retire", data={"csrf": csrf})
    assert retired.status_code == 303
    assert "retired" in client.get("/clinic/exercises").text
    assert site.count(OwnExercise) == 2


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"role_gastrocnemius": "", "role_soleus": ""}, "targets", "at least 1"),
        ({"dose_amount": "40"}, "dose_amount", "outside its range"),
        ({"knob_default": "three towels"}, "knob_default", "not one of the levels"),
        ({"regression": "towel_calf_hold"}, "", "its own regression"),
        ({"id": "calf_raise_wall", "regression": ""}, "id", "built-in"),
        ({"role_soleus": "boss"}, "targets", "Input should be"),
    ],
)
def test_a_bad_form_is_refused_naming_the_field_and_stores_nothing(
    site: Site, changes: dict[str, str], field: str, words: str
) -> None:
    client, csrf = site.client(site.c)
    response = client.post("/clinic/exercises/new", data=exercise_form(csrf, **changes))
    assert response.status_code == 422, response.text[:500]
    assert words in response.text
    if field:
        assert f'id="e-{field}"' in response.text
    assert site.count(OwnExercise) == 0


def test_other_clinicians_and_people_cannot_reach_an_exercise(site: Site) -> None:
    create(site)
    for account in (site.d, site.person):
        client, csrf = site.client(account)
        assert client.get("/clinic/exercises/towel_calf_hold").status_code in (403, 404)
        response = client.post(
            "/clinic/exercises/towel_calf_hold", data=exercise_form(csrf, name="Stolen")
        )
        assert response.status_code in (403, 404)
    assert site.count(OwnExercise) == 1


def test_a_photo_is_re_encoded_and_served_as_an_image_that_never_runs(site: Site) -> None:
    client, csrf = create(site)
    original = jpeg((2400, 1200))
    response = client.post(
        "/clinic/exercises/towel_calf_hold/photo",
        data={"csrf": csrf},
        files={"photo": ("calf.jpg", original, "image/jpeg")},
    )
    assert response.status_code == 303, response.text[:500]
    with site.database.reading() as session:
        picture = session.scalars(select(ExercisePicture)).one()
        key, stored = picture.key, picture.data
    assert stored != original and (picture.width, picture.height) == (1600, 800)
    served = client.get(f"/exercise-pictures/{key}")
    assert served.status_code == 200 and served.content == stored
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-disposition"].startswith("inline")
    assert "sandbox" in served.headers["content-security-policy"]
    assert "default-src 'none'" in served.headers["content-security-policy"]
    # The owner's patient sees it; another clinician, a stranger and nobody do not.
    patient, _ = site.client(site.person)
    assert patient.get(f"/exercise-pictures/{key}").status_code == 200
    for account in (site.d, site.stranger, None):
        other, _ = site.client(account)
        assert other.get(f"/exercise-pictures/{key}").status_code == 404


def _hostile() -> list[tuple[str, str, bytes, str, int]]:
    polyglot = jpeg() + b"<html><body><script>alert(document.cookie)</script></body></html>"
    svg = (
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">'
        b"<script>alert(1)</script></svg>"
    )
    return [
        ("php named .jpg", "shell.jpg", b"<?php system($_GET['c']); ?>", "not a JPEG", 422),
        ("svg with script", "photo.png", svg, "not a JPEG", 422),
        ("decompression bomb", "big.png", png_claiming(100_000, 100_000), "pixels", 422),
        ("polyglot", "cat.jpg", polyglot, "web-page code", 422),
        ("php after a jpeg", "cat.jpg", jpeg() + b"<?php echo 1; ?>", "web-page code", 422),
        ("cut short", "half.jpg", jpeg()[:200], "read whole", 422),
    ]


@pytest.mark.parametrize(
    ("what", "name", "content", "words", "status"), _hostile(), ids=[h[0] for h in _hostile()]
)
def test_a_hostile_upload_is_refused_with_one_message_and_nothing_stored(
    site: Site, what: str, name: str, content: bytes, words: str, status: int
) -> None:
    client, csrf = create(site)
    response = client.post(
        "/clinic/exercises/towel_calf_hold/photo",
        data={"csrf": csrf},
        files={"photo": (name, content, "image/jpeg")},
    )
    assert response.status_code == status, (what, response.text[:300])
    assert words in response.text and "nothing was stored" in response.text
    assert site.count(ExercisePicture) == 0


def test_a_200_mb_upload_is_refused_before_it_is_read(site: Site) -> None:
    client, _ = create(site)
    size = 200 * 1024 * 1024
    chunk = b"\xff\xd8\xff" + b"\0" * (1024 * 1024 - 3)

    def body() -> Iterator[bytes]:
        for _ in range(size // len(chunk)):
            yield chunk

    response = client.post(
        "/clinic/exercises/towel_calf_hold/photo",
        content=body(),
        headers={
            "content-type": "multipart/form-data; boundary=x",
            "content-length": str(size),
        },
    )
    assert response.status_code == 413
    assert "larger than" in response.text and "nothing was stored" in response.text
    assert site.count(ExercisePicture) == 0


def test_the_photo_check_itself() -> None:
    with pytest.raises(PhotoRefused, match="larger than"):
        check_photo(b"\xff\xd8\xff" + b"\0" * MAX_PHOTO_BYTES)
    frames = [Image.new("RGB", (8, 8), c) for c in ((0, 0, 0), (255, 255, 255))]
    animated = io.BytesIO()
    frames[0].save(animated, format="PNG", save_all=True, append_images=frames[1:])
    with pytest.raises(PhotoRefused, match="animated"):
        check_photo(animated.getvalue())
    # A PNG with transparency and a WebP come out as plain JPEGs without metadata.
    for fmt, mode in (("PNG", "RGBA"), ("WEBP", "RGB")):
        out = io.BytesIO()
        Image.new(mode, (30, 20), (10, 20, 30) if mode == "RGB" else (10, 20, 30, 0)).save(
            out, format=fmt
        )
        photo = check_photo(out.getvalue())
        assert photo.content_type == "image/jpeg" and photo.data.startswith(b"\xff\xd8\xff")
        with Image.open(io.BytesIO(photo.data)) as again:
            assert again.format == "JPEG" and not again.getexif()
