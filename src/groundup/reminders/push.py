"""Web Push: the server's VAPID key pair, and sending an encrypted notification to one
device through its browser's push service (pywebpush encrypts it as RFC 8291 asks).

Each notification carries a Topic made from the reminder, so a push service that still
holds an undelivered copy replaces it instead of delivering two, and the service worker
shows it under a tag made from the same reminder, so a second copy replaces the first on
the screen.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

TIMEOUT_SECONDS = 15
# How long a push service keeps trying to reach a device that is off.
TIME_TO_LIVE = 4 * 3600


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class VapidKeys:
    """The server's key pair for Web Push: the private key (PEM) signs each request; the
    public key (base64url, uncompressed point) is what browsers subscribe with."""

    private_pem: str

    @classmethod
    def generate(cls) -> VapidKeys:
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return cls(pem.decode())

    @property
    def public_key(self) -> str:
        key = serialization.load_pem_private_key(self.private_pem.encode(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        point = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)


class PushResult(StrEnum):
    SENT = "sent"
    GONE = "gone"  # the device unsubscribed or the subscription expired: forget it
    RETRY = "retry"  # the push service is busy or unreachable: try again later
    REFUSED = "refused"  # the push service will not take it: trying again will not help


def topic(key: str) -> str:
    """A Topic header for a reminder: at most 32 URL-safe characters."""
    return b64url(hashlib.sha256(key.encode()).digest())[:32]


def send_push(
    endpoint: str,
    p256dh: str,
    auth: str,
    payload: dict[str, Any],
    *,
    keys: VapidKeys,
    contact: str,
    key: str,
) -> tuple[PushResult, str]:
    """Send one encrypted notification; the result and a short explanation."""
    # Imported here: pywebpush brings an HTTP stack that only the worker needs.
    from py_vapid import Vapid
    from pywebpush import WebPushException, webpush

    subscription = {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}}
    try:
        response = webpush(
            subscription,
            data=json.dumps(payload, separators=(",", ":")),
            vapid_private_key=Vapid.from_pem(keys.private_pem.encode()),
            vapid_claims={"sub": contact},
            ttl=TIME_TO_LIVE,
            timeout=TIMEOUT_SECONDS,
            headers={"Topic": topic(key), "Urgency": "normal"},
        )
    except WebPushException as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status in (404, 410):
            return PushResult.GONE, f"the device is no longer subscribed ({status})"
        if status is None or status == 429 or status >= 500:
            return PushResult.RETRY, f"the push service did not take it ({status or exc})"
        return PushResult.REFUSED, f"the push service refused it ({status})"
    except (OSError, ValueError) as exc:
        return PushResult.RETRY, f"the push service cannot be reached ({exc})"
    return PushResult.SENT, f"sent ({getattr(response, 'status_code', '')})"
