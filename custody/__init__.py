"""What both servers share: the envelope format, the ticket store, the content
stores, the Vault adapter, TLS material, and the exception tree."""
