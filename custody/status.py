"""The one table between the exception tree and gRPC status codes.

Servers turn a `UserbotError` into a status code, a message and a trailing
`userbot-error` kind; clients turn that back into the same exception class.
A failure that never reached our code carries no kind and maps by code alone.
"""

from __future__ import annotations

from typing import NoReturn

import grpc
import grpc.aio

from custody import errors

KIND_KEY = "userbot-error"
DETAIL_KEY = "userbot-error-detail"

# kind on the wire -> (exception class, status code)
_TABLE: dict[str, tuple[type[errors.UserbotError], grpc.StatusCode]] = {
    "command": (errors.CommandError, grpc.StatusCode.INVALID_ARGUMENT),
    "secret_not_found": (errors.SecretNotFoundError, grpc.StatusCode.NOT_FOUND),
    "vault_permission": (errors.VaultPermissionError, grpc.StatusCode.PERMISSION_DENIED),
    "secret_too_large": (errors.SecretTooLargeError, grpc.StatusCode.FAILED_PRECONDITION),
    "vault_unavailable": (errors.VaultUnavailableError, grpc.StatusCode.UNAVAILABLE),
    "vault": (errors.VaultError, grpc.StatusCode.INTERNAL),
    "store_unavailable": (errors.StoreUnavailableError, grpc.StatusCode.UNAVAILABLE),
    "ticket_unavailable": (errors.TicketUnavailableError, grpc.StatusCode.FAILED_PRECONDITION),
    "store": (errors.StoreError, grpc.StatusCode.INTERNAL),
    "content_unavailable": (errors.ContentUnavailableError, grpc.StatusCode.UNAVAILABLE),
    "content_not_found": (errors.ContentNotFoundError, grpc.StatusCode.NOT_FOUND),
    "content": (errors.ContentError, grpc.StatusCode.INTERNAL),
    "integrity": (errors.IntegrityError, grpc.StatusCode.DATA_LOSS),
    "overloaded": (errors.OverloadedError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    "caller_not_allowed": (errors.CallerNotAllowedError, grpc.StatusCode.PERMISSION_DENIED),
}
_KIND_OF = {cls: kind for kind, (cls, _) in _TABLE.items()}

# status code of a call that never reached our code -> exception class, message
_BY_CODE: dict[grpc.StatusCode, tuple[type[errors.RpcError], str]] = {
    grpc.StatusCode.UNAVAILABLE: (errors.ServiceUnavailableError, "The {service} is unreachable."),
    grpc.StatusCode.DEADLINE_EXCEEDED: (
        errors.DeadlineExceededError,
        "The {service} did not answer in time.",
    ),
    grpc.StatusCode.RESOURCE_EXHAUSTED: (
        errors.OverloadedError,
        "The {service} is busy; try again in a moment.",
    ),
}


def kind_of(exc: errors.UserbotError) -> str | None:
    """Return the wire kind of `exc`, walking up its classes; None if it has none."""
    for cls in type(exc).__mro__:
        kind = _KIND_OF.get(cls)
        if kind is not None:
            return kind

    return None


async def abort(
    context: grpc.aio.ServicerContext[object, object], exc: errors.UserbotError
) -> NoReturn:
    """End the current call with the status that stands for `exc`."""
    kind = kind_of(exc)
    metadata: list[tuple[str, str]] = []
    if kind is None:
        code, message = grpc.StatusCode.INTERNAL, "The service failed unexpectedly."
    else:
        code, message = _TABLE[kind][1], str(exc)
        metadata.append((KIND_KEY, kind))
        if exc.wire_field is not None:
            metadata.append((DETAIL_KEY, str(getattr(exc, exc.wire_field))))

    await context.abort(code, message, tuple(metadata))
    raise AssertionError("ServicerContext.abort always raises")


def from_rpc_error(err: grpc.aio.AioRpcError, service: str) -> errors.UserbotError:
    """Translate a failed call to `service` into the exception it stands for."""
    trailing = dict(err.trailing_metadata() or ())
    kind = trailing.get(KIND_KEY)
    message = err.details() or ""
    if isinstance(kind, str) and kind in _TABLE:
        cls = _TABLE[kind][0]
        detail = trailing.get(DETAIL_KEY)
        if cls.wire_field is not None and isinstance(detail, str):
            return cls(detail)
        if cls.wire_field is None:
            return cls(message)

    code = err.code()
    if code in _BY_CODE:
        cls, template = _BY_CODE[code]
        return cls(template.format(service=service))

    return errors.RpcError(f"The {service} failed ({code.name.lower()}).")


def is_refused(err: grpc.aio.AioRpcError, codes: frozenset[grpc.StatusCode]) -> bool:
    """Tell whether a call failed with one of `codes` before our server code took it."""
    trailing = dict(err.trailing_metadata() or ())

    return err.code() in codes and KIND_KEY not in trailing
