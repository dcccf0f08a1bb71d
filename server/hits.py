"""Cache hits answered before routing.

A POST /graphql whose operation is already in the response cache is the commonest request a
busy server sees, and it needs none of the request machinery: no routing, no request object,
no execution thread. This middleware reads such a request's body, asks the endpoint for the
cached answer (``GraphQLEndpoint.cached_post``, which applies the endpoint's own rules and
bookkeeping) and sends it; anything else (a miss, a batch, APQ, any doubt) goes on to the
app with the body it has read handed back, so it is answered exactly as before.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.endpoint import GraphQLEndpoint

PATH = "/graphql"
# The request headers a cached answer depends on (``GraphQLEndpoint.cached_post``) and Origin.
_READ = frozenset((b"accept", b"content-type", b"x-request-id", b"origin"))


class CachedAnswers:
    """``headers`` go on every answer it sends (the app's security headers); with ``cors``
    a request that carries an Origin goes the whole way, for the CORS middleware to answer."""

    def __init__(self, app: ASGIApp, endpoint: GraphQLEndpoint,
                 headers: Sequence[tuple[bytes, bytes]] = (), cors: bool = False) -> None:
        self.app = app
        self.endpoint = endpoint
        self.headers = list(headers)
        self.cors = cors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        message = await receive()
        found = None
        if message["type"] == "http.request" and not message.get("more_body", False):
            headers: dict[str, str] = {}
            for name, value in scope["headers"]:  # ASGI names are lower case
                if name in _READ:  # the first of repeated headers, as Starlette
                    headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
            if not (self.cors and "origin" in headers):
                found = self.endpoint.cached_post(headers, message.get("body", b""), started)
        if found is None:
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if replayed:
                    return await receive()
                replayed = True
                return message

            await self.app(scope, replay, send)
            return
        body, status, media_type, request_id = found
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", media_type.encode()),
            (b"x-request-id", request_id.encode()),
            *self.headers,
        ]})
        await send({"type": "http.response.body", "body": body})
