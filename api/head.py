"""HEAD on every GET route (RFC 9110 §9.3.2): answered as the GET would be, without the body.

FastAPI routes declare GET only, so HEAD got 405. This pure-ASGI middleware runs the request
as GET and drops the body; status and headers (Content-Length, ETag …) are the GET's. The
method is restored afterwards so the access log records HEAD.
"""

from __future__ import annotations


class HeadAsGet:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await self.app(scope, receive, send)

        async def send_headers_only(message):
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # the body is not sent; only its end is
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        scope["method"] = "GET"
        try:
            await self.app(scope, receive, send_headers_only)
        finally:
            scope["method"] = "HEAD"
