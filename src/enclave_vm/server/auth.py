"""Bearer-token authentication for the API (`/v1/...`); `/healthz` and `/metrics` stay open."""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import error_response

PROTECTED_PREFIX = "/v1"


def is_protected(path: str) -> bool:
    return path == PROTECTED_PREFIX or path.startswith(PROTECTED_PREFIX + "/")


class BearerTokenMiddleware:
    """Answers 401 to an API request without `Authorization: Bearer <token>`, before its body is read."""

    def __init__(self, app: ASGIApp, *, token: str) -> None:
        if not isinstance(token, str) or not token:
            raise ValueError("token must be a non-empty str")
        self.app = app
        self._expected = token.encode("utf-8")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_protected(scope["path"]) and not self._authorized(scope):
            refused = error_response(
                401,
                "unauthorized",
                "A valid 'Authorization: Bearer <token>' header is required",
                headers={"www-authenticate": 'Bearer realm="enclave-vm"'},
            )
            await refused(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, credentials = value.partition(b" ")
                # Constant time: how much of a guess matched must not show in the answer's timing.
                return scheme.lower() == b"bearer" and hmac.compare_digest(credentials.strip(), self._expected)
        return False
