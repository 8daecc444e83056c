"""The backend: redeems a ticket once, checks and decrypts the ciphertext, renders the reply."""

from backend.servicer import BackendServicer

__all__ = ["BackendServicer"]
