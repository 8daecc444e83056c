"""Integration tests, run against the real programs DESIGN.md names."""
