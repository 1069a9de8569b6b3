"""Exceptions of the client: every refusal of the API carries its error code (``{"error": {"code", ...}}``)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional


class PoetError(Exception):
    """An answer of the API that is not a success, or a run that did not complete.

    ``code`` is the API's machine-readable code (``invalid_python``, ``rate_limited``, ``run_not_found``...),
    ``status`` the HTTP status (``None`` for a run that ended without completing), ``details`` the offending paths,
    ``run`` the run it concerns, ``fault`` what failed beneath (e.g. the database's fault class), ``category``
    what kind of failure (``input``, ``validation``, ``generation``, ``deployment``, ``system``) and ``severity``
    how much it matters (``info``, ``warning``, ``error``, ``critical``), as the API classed it.
    """

    def __init__(
        self,
        code: str,
        message: str,
        status: Optional[int] = None,
        details: Optional[List[Dict[str, Any]]] = None,
        run: Optional[Dict[str, Any]] = None,
        fault: Optional[str] = None,
        retry_after: Optional[float] = None,
        category: Optional[str] = None,
        severity: Optional[str] = None,
    ) -> None:
        super().__init__(f"{code}: {message}" + (f" (HTTP {status})" if status else ""))
        self.category = category
        self.severity = severity
        self.code = code
        self.message = message
        self.status = status
        self.details = details or []
        self.run = run
        self.fault = fault
        #: Seconds the API asked to wait (429, 503) when the client's retry budget could not cover them.
        self.retry_after = retry_after


class InvalidRequest(PoetError):
    """400: the body or a parameter does not match the contract (``invalid_request``, ``unknown_domain``...)."""


class Unauthorized(PoetError):
    """401: missing or unknown API key."""


class Forbidden(PoetError):
    """403: the key's role is below the route's."""


class NotFound(PoetError):
    """404: ``function_not_found``, ``version_not_found``, ``run_not_found``..."""


class Conflict(PoetError):
    """409."""


class PayloadTooLarge(PoetError):
    """413: the body or the code is over the service's limit."""


class Unprocessable(PoetError):
    """422: the input cannot be enhanced (``invalid_python``, ``function_not_found``, ``validation_failed``...)."""


class RateLimited(PoetError):
    """429 that outlasted the client's retry budget."""


class ServerError(PoetError):
    """5xx."""


class ServiceUnavailable(ServerError):
    """503 that outlasted the client's retry budget (``service_unavailable``, ``database_unavailable``...)."""


class RunFailed(PoetError):
    """A run ended ``failed``, ``canceled``, ``terminated`` or ``timed_out``; ``run_status`` says which."""

    def __init__(
        self,
        run_status: str,
        code: str,
        message: str,
        run: Optional[Dict[str, Any]] = None,
        category: Optional[str] = None,
        severity: Optional[str] = None,
    ) -> None:
        super().__init__(code, message, run=run, category=category, severity=severity)
        self.run_status = run_status


class PoetConnectionError(PoetError):
    """The API could not be reached (code ``connection_error``)."""


_BY_STATUS = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: Unprocessable,
    429: RateLimited,
    503: ServiceUnavailable,
}


def error_for(status: int, body: Any, retry_after: Optional[float] = None) -> PoetError:
    """The exception of an error answer; a body that is not the API's error shape (a proxy's page) keeps the status."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {"code": f"http_{status}", "message": str(body)[:500] if body else f"HTTP {status}"}
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else PoetError)
    return cls(
        str(error.get("code", f"http_{status}")),
        str(error.get("message", "")),
        status=status,
        details=error.get("details"),
        run=error.get("run"),
        fault=error.get("fault"),
        retry_after=retry_after,
        category=error.get("category"),
        severity=error.get("severity"),
    )
