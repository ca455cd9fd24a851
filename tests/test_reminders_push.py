"""Reminders by Web Push: delivered to a push endpoint served on loopback over HTTPS (a
certificate made here and trusted for the test), where the payload is decrypted with the
device's private key (RFC 8291, aes128gcm) and the VAPID signature checked with the
server's public key (RFC 8292). A device that has gone (410) is forgotten."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import os
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import http_ece
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from groundup.config import Settings
from groundup.reminders.push import b64url
from groundup.reminders.timing import Kind
from groundup.services import ServiceError, Services
from groundup.services.reminders import SEND_JOB, ReminderChoices, Reminders
from groundup.storage.models import Job
from groundup.worker import app_worker
from test_reminders import OSLO, WEDNESDAY, Clock, begin


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class PushService:
    """A push service on loopback: it keeps what it is sent and answers with `status`
    (by path: /gone/… answers 410)."""

    url: str
    received: list[Delivery] = field(default_factory=list)


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "push.crt", folder / "push.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def push_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PushService]:
    cert_path, key_path = _certificate(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert_path))  # trust it, for this test only
    service = PushService(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            service.received.append(
                Delivery(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            self.send_response(410 if self.path.startswith("/gone/") else 201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    service.url = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class Browser:
    """What a browser keeps for a subscription: its key pair and the auth secret."""

    key: ec.EllipticCurvePrivateKey
    auth: bytes

    @classmethod
    def new(cls) -> Browser:
        return cls(ec.generate_private_key(ec.SECP256R1()), os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64url(
            self.key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    def decrypt(self, body: bytes) -> dict[str, str]:
        plain = http_ece.decrypt(
            body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"
        )
        data: dict[str, str] = json.loads(plain)
        return data


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_vapid(authorization: str, public_key: str, audience: str) -> dict[str, object]:
    """The VAPID header's JWT, verified (ES256) with the server's public key; its claims."""
    scheme, _, rest = authorization.partition(" ")
    assert scheme == "vapid"
    parts = dict(item.strip().split("=", 1) for item in rest.split(","))
    assert parts["k"] == public_key
    header, claims, signature = parts["t"].split(".")
    raw = _unb64(signature)
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(public_key))
    key.verify(
        encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")),
        f"{header}.{claims}".encode(),
        ec.ECDSA(hashes.SHA256()),
    )
    found: dict[str, object] = json.loads(_unb64(claims))
    assert found["aud"] == audience
    return found


def test_a_reminder_reaches_a_device_encrypted_for_it_alone(
    services: Services, tmp_path: Path, push_service: PushService
) -> None:
    clock = Clock(dt.datetime(2025, 3, 5, 11, 0, tzinfo=dt.UTC))
    settings = Settings(data_dir=tmp_path, mail_from="groundup <reminders@clinic.example>")
    reminders = Reminders(services, settings, now=clock)
    patient_id = services.enrol("Sam Steady")
    begin(services, patient_id)
    phone, gone = Browser.new(), Browser.new()
    reminders.add_device(
        patient_id, f"{push_service.url}/push/phone", phone.p256dh, b64url(phone.auth), "Phone"
    )
    reminders.add_device(
        patient_id, f"{push_service.url}/gone/old", gone.p256dh, b64url(gone.auth), "Old"
    )
    reminders.save(
        patient_id,
        ReminderChoices(
            enabled=True, kinds=frozenset({Kind.TRAINING}), by_push=True, time_zone=OSLO
        ),
    )
    clock.local(WEDNESDAY, "17:31")
    worker = app_worker(services, settings, clock=clock)
    assert worker.tick() >= 3  # the planning run, two sends
    by_path = {d.path: d for d in push_service.received}
    assert set(by_path) == {"/push/phone", "/gone/old"}
    delivery = by_path["/push/phone"]
    assert delivery.headers["content-encoding"] == "aes128gcm"
    assert int(delivery.headers["ttl"]) > 0
    assert 0 < len(delivery.headers["topic"]) <= 32
    payload = phone.decrypt(delivery.body)
    assert payload["title"] == "Today is a training day"
    assert payload["url"] == "/me" and "minutes" in payload["body"]
    claims = check_vapid(
        delivery.headers["authorization"], reminders.vapid.public_key, push_service.url
    )
    assert claims["sub"] == "mailto:reminders@clinic.example"
    with pytest.raises((InvalidTag, http_ece.ECEException)):  # not with another device's key
        gone.decrypt(delivery.body)
    # The device that has gone is forgotten; the other stays.
    assert [d.name for d in reminders.devices(patient_id)] == ["Phone"]
    with services.db.reading() as session:
        outcomes = session.scalars(select(Job.outcome).where(Job.kind == SEND_JOB)).all()
    assert sorted(o.split(":")[0] for o in outcomes) == [
        "not sent",
        f"sent to device {reminders_device_id(reminders, patient_id)}",
    ]


def reminders_device_id(reminders: Reminders, patient_id: str) -> int:
    return reminders.devices(patient_id)[0].id


@pytest.mark.parametrize(
    ("endpoint", "p256dh", "auth", "words"),
    [
        ("http://push.example/abc", None, None, "https://"),
        ("https://push.example/abc", "bm90IGEga2V5", None, "public key"),
        ("https://push.example/abc", None, "c2hvcnQ", "auth secret"),
    ],
)
def test_a_device_that_cannot_receive_pushes_is_refused(
    services: Services,
    tmp_path: Path,
    endpoint: str,
    p256dh: str | None,
    auth: str | None,
    words: str,
) -> None:
    reminders = Reminders(services, Settings(data_dir=tmp_path))
    patient_id = services.enrol("Sam")
    browser = Browser.new()
    with pytest.raises(ServiceError, match=words):
        reminders.add_device(
            patient_id, endpoint, p256dh or browser.p256dh, auth or b64url(browser.auth)
        )
    assert reminders.devices(patient_id) == []
