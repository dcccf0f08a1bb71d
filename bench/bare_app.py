"""A bare Starlette endpoint answering a fixed JSON body: the floor our cached GraphQL
responses are compared with (same server, same workers, same load generator)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = b'{"data":{"releasesInMonth":{"count":3921}},"extensions":{"cost":2}}'


async def answer(_request: Request) -> Response:
    return Response(BODY, media_type="application/json")


def create_app() -> Starlette:
    return Starlette(routes=[Route("/graphql", answer, methods=["GET", "POST"])])
