"""Unit tests: no network, no outside programs."""
