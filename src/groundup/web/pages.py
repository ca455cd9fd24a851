"""Rendering pages: one Jinja2 environment, and the context every page gets."""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from groundup.web.deps import CSRF_COOKIE, csrf_token

templates = Jinja2Templates(directory=str(resources.files("groundup.web") / "templates"))


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page with the signed-in account, the form token and any message."""
    token = csrf_token(request)
    response = templates.TemplateResponse(
        request,
        name,
        {
            "account": getattr(request.state, "account", None),
            "csrf": token,
            **context,
        },
        status_code=status_code,
    )
    fresh = getattr(request.state, "new_csrf_cookie", None)
    if fresh:
        response.set_cookie(CSRF_COOKIE, fresh, httponly=True, samesite="strict")
    return response
