"""Async gRPC clients for the secrets service and the backend."""

from secrets_client.client import BackendClient, SecretsClient
from secrets_client.types import Envelope, Rendered, Requester

__all__ = ["BackendClient", "Envelope", "Rendered", "Requester", "SecretsClient"]
