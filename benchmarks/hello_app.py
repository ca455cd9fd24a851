"""The ceiling for the HTTP benchmark: the same server stack with nothing behind it.

`starlette` answers a bare Starlette route; `fastapi` a bare FastAPI route (the framework
groundup's routes run on). Both are served by uvicorn exactly as `groundup serve` serves
the app (same worker count, same log level).
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route


async def _hello(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("Hello, world!")


starlette = Starlette(routes=[Route("/", _hello)])

fastapi = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@fastapi.get("/")
def _fastapi_hello() -> JSONResponse:
    return JSONResponse({"hello": "world"})
