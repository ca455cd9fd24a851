"""The web door's text check for the address itself, as plain ASGI middleware.

Bodies are checked where they are read (forms in `deps.check_form`, JSON in
`api.JsonRoute`); a path or query parameter reaches route code, and sometimes a query,
before either. A `%00` in an id would make PostgreSQL fail the query; here the path and
every query parameter meet the same rule (`groundup.clinical.text`) first: a path that
breaks it is no page (404), a query parameter that breaks it is named (422).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from groundup.clinical.text import clean_text, text_problem
from groundup.services import audit
from groundup.web.deps import client_address_of


class AddressTextGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        refusal: tuple[int, str, str | None] | None = None
        if text_problem(path) is not None:
            refusal = (404, "there is no such page", None)
        else:
            query = scope.get("query_string", b"").decode("latin-1")
            for name, value in parse_qsl(query, keep_blank_values=True):
                problem = text_problem(name) or text_problem(value)
                if problem is not None:
                    named = clean_text(name)[:60]
                    refusal = (422, f"{named}: {problem}", named)
                    break
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, message, field = refusal
        if path.startswith("/api/"):
            answer: dict[str, object] = {"error": message}
            if field is not None:
                answer["fields"] = [field]  # as every 422 of the API names its fields
            body = json.dumps(answer).encode()
            kind = b"application/json"
        else:
            body = (
                "<!doctype html><meta charset=utf-8><title>groundup</title>"
                f"<p>{message.replace('&', '&amp;').replace('<', '&lt;')}</p>"
                '<p><a href="/">groundup</a></p>'
            ).encode()
            kind = b"text/html; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


class RequestAudit:
    """Opens the audit context of each request (`services.audit`) with the client's
    address, worked out once from the connection and the configured trusted proxies."""

    def __init__(self, app: ASGIApp, trusted: Sequence[IPv4Network | IPv6Network]) -> None:
        self.app = app
        self.trusted = list(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        peer = str(client[0]) if client else "unknown"
        forwarded = [
            value.decode("latin-1")
            for name, value in scope.get("headers", ())
            if name.lower() == b"x-forwarded-for"
        ]
        mark = audit.begin(client_address_of(peer, forwarded, self.trusted))
        try:
            await self.app(scope, receive, send)
        finally:
            audit.end(mark)
