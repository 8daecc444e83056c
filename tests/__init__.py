"""The project's tests: unit tests, and integration tests against real programs."""
