"""The table between the exception tree and gRPC: kinds, and errors read back off the wire."""

from __future__ import annotations

import grpc
import grpc.aio
import pytest

from custody import errors
from custody.status import DETAIL_KEY, KIND_KEY, from_rpc_error, is_refused, kind_of

# Every leaf or branch with an entry of its own, as an instance, and the kind it travels as.
KINDS: list[tuple[errors.UserbotError, str]] = [
    (errors.CommandError("Use /secret <name>."), "command"),
    (errors.SecretNotFoundError("db_prod"), "secret_not_found"),
    (errors.VaultPermissionError("The token may not read this."), "vault_permission"),
    (errors.VaultUnavailableError(), "vault_unavailable"),
    (errors.VaultError("Vault failed."), "vault"),
    (errors.StoreUnavailableError(), "store_unavailable"),
    (errors.TicketUnavailableError(), "ticket_unavailable"),
    (errors.StoreError("The store failed."), "store"),
    (errors.ContentUnavailableError(), "content_unavailable"),
    (errors.ContentNotFoundError("bafkreiexample"), "content_not_found"),
    (errors.ContentError("The content store failed."), "content"),
    (errors.IntegrityError("the tag did not match"), "integrity"),
    (errors.OverloadedError("Busy."), "overloaded"),
]


def rpc_error(
    code: grpc.StatusCode, trailing: tuple[tuple[str, str], ...] = (), details: str | None = None
) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(*trailing), details)


def on_the_wire(exc: errors.UserbotError, code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    """What a client sees after a server aborted with `exc`: its kind, detail and message."""
    kind = kind_of(exc)
    assert kind is not None
    trailing = [(KIND_KEY, kind)]
    if exc.wire_field is not None:
        trailing.append((DETAIL_KEY, str(getattr(exc, exc.wire_field))))

    return rpc_error(code, tuple(trailing), str(exc))


@pytest.mark.parametrize(("exc", "kind"), KINDS, ids=[kind for _, kind in KINDS])
def test_kind_of_each_class(exc: errors.UserbotError, kind: str) -> None:
    """kind_of names the wire kind of each class that has an entry."""
    assert kind_of(exc) == kind


def test_a_subclass_without_an_entry_takes_its_parents_kind() -> None:
    """A subclass with no entry of its own travels under its nearest ancestor's kind."""

    class StandbyNodeError(errors.VaultUnavailableError):
        pass

    class RevokedTokenError(errors.VaultPermissionError):
        pass

    assert kind_of(StandbyNodeError()) == "vault_unavailable"
    assert kind_of(RevokedTokenError("revoked")) == "vault_permission"


@pytest.mark.parametrize(
    "exc",
    [
        errors.ConfigError("VAULT_ADDR", "must be set"),
        errors.RpcError("The call failed."),
        errors.ServiceUnavailableError("The backend is unreachable."),
        errors.DeadlineExceededError("The backend did not answer in time."),
        errors.UserbotError("Something failed."),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_classes_outside_the_table_have_no_kind(exc: errors.UserbotError) -> None:
    """An error with no entry anywhere in its ancestry has no wire kind."""
    assert kind_of(exc) is None


@pytest.mark.parametrize(("exc", "kind"), KINDS, ids=[kind for _, kind in KINDS])
def test_every_kind_maps_back_to_its_class(exc: errors.UserbotError, kind: str) -> None:
    """An error sent with its kind is read back as the same class with the same message."""
    back = from_rpc_error(on_the_wire(exc, grpc.StatusCode.INTERNAL), "backend")

    assert type(back) is type(exc)
    assert str(back) == str(exc)


def test_secret_not_found_keeps_its_name() -> None:
    """SecretNotFoundError crosses the wire with its typed name field intact."""
    sent = errors.SecretNotFoundError("team/db_prod")

    back = from_rpc_error(on_the_wire(sent, grpc.StatusCode.NOT_FOUND), "secrets service")

    assert isinstance(back, errors.SecretNotFoundError)
    assert back.name == "team/db_prod"


def test_unavailable_without_a_kind_names_the_service() -> None:
    """UNAVAILABLE from the transport becomes ServiceUnavailableError naming the service."""
    err = rpc_error(grpc.StatusCode.UNAVAILABLE, details="failed to connect to all addresses")

    back = from_rpc_error(err, "secrets service")

    assert type(back) is errors.ServiceUnavailableError
    assert "secrets service" in str(back)
    assert "failed to connect" not in str(back)


def test_deadline_exceeded_without_a_kind() -> None:
    """DEADLINE_EXCEEDED from the transport becomes DeadlineExceededError naming the service."""
    back = from_rpc_error(rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED), "backend")

    assert type(back) is errors.DeadlineExceededError
    assert "backend" in str(back)


def test_resource_exhausted_is_overloaded() -> None:
    """RESOURCE_EXHAUSTED with no kind becomes OverloadedError."""
    back = from_rpc_error(rpc_error(grpc.StatusCode.RESOURCE_EXHAUSTED), "backend")

    assert type(back) is errors.OverloadedError


@pytest.mark.parametrize(
    "code", [grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNIMPLEMENTED]
)
def test_another_code_is_a_plain_rpc_error(code: grpc.StatusCode) -> None:
    """A code with no meaning of its own becomes a plain RpcError that names service and code."""
    back = from_rpc_error(rpc_error(code, details="stack trace from the server"), "backend")

    assert type(back) is errors.RpcError
    assert "backend" in str(back)
    assert code.name.lower() in str(back)
    assert "stack trace" not in str(back)


def test_an_unknown_kind_maps_by_code() -> None:
    """A kind this version does not know is ignored, and the status code decides."""
    err = rpc_error(grpc.StatusCode.UNAVAILABLE, ((KIND_KEY, "from_the_future"),), "new")

    assert type(from_rpc_error(err, "backend")) is errors.ServiceUnavailableError


def test_a_refusal_before_our_code_is_refused() -> None:
    """is_refused is true for a listed code that carries no kind."""
    err = rpc_error(grpc.StatusCode.UNAVAILABLE)

    assert is_refused(err, frozenset({grpc.StatusCode.UNAVAILABLE}))


def test_an_answer_from_our_code_is_not_refused() -> None:
    """is_refused is false when the server's own code sent a kind, even with a listed code."""
    err = on_the_wire(errors.VaultUnavailableError(), grpc.StatusCode.UNAVAILABLE)

    assert not is_refused(err, frozenset({grpc.StatusCode.UNAVAILABLE}))


def test_an_unlisted_code_is_not_refused() -> None:
    """is_refused is false for a code outside the given set."""
    err = rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED)

    assert not is_refused(err, frozenset({grpc.StatusCode.UNAVAILABLE}))
