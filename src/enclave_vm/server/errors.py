"""The service's error answers: one JSON shape for every refused request,
`{"error": KIND, "message": TEXT}` (plus `"field"` when one field of the body is at fault)."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse


class HttpError(Exception):
    """Raised by a route to answer with `status` and the JSON error body."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        *,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.field = field
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        return error_response(self.status, self.error, self.message, field=self.field, headers=self.headers)


def error_response(
    status: int, error: str, message: str, *, field: str | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body: dict[str, str] = {"error": error, "message": message}
    if field is not None:
        body["field"] = field
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))
