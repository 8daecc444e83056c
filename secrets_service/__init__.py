"""The secrets service: reads a secret from Vault, seals it, issues a one-time ticket."""

from secrets_service.servicer import SecretsServicer

__all__ = ["SecretsServicer"]
