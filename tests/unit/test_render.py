"""Rendering a secret: the text of the reply and the spans the chat hides."""

from __future__ import annotations

import pytest

from backend.render import render_secret


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"password": "hunter2", "user": "app"}, id="plain"),
        pytest.param({"pin": "🔑🔑 1234", "emoji 🙂": "👩‍👩‍👧 family"}, id="emoji"),
        pytest.param({"cert": "-----BEGIN-----\nMIIB\n-----END-----\n"}, id="newlines"),
        pytest.param({"note": "zero\u200bwidth", "rtl": "שלום"}, id="other-scripts"),
        pytest.param({"a": "x", "empty": "", "b": "y"}, id="empty-between"),
    ],
)
def test_hidden_spans_cover_exactly_the_values(fields: dict[str, str]) -> None:
    """Each span, read back from the text, is one non-empty value, in field order."""
    rendered = render_secret("db_prod", 3, fields)

    covered = [rendered.text[offset : offset + length] for offset, length in rendered.hidden]

    assert covered == [value for value in fields.values() if value]


def test_an_empty_value_gets_no_span() -> None:
    """A field whose value is empty is shown by its key alone and hides nothing."""
    rendered = render_secret("db_prod", 1, {"empty": ""})

    assert rendered.hidden == ()
    assert "empty: " in rendered.text


def test_the_heading_names_the_secret_and_version() -> None:
    """The first line names the secret and its KV version; each field follows on its own line."""
    rendered = render_secret("db_prod", 3, {"password": "hunter2", "user": "app"})

    assert rendered.text.splitlines() == ["🔐 db_prod (v3)", "password: hunter2", "user: app"]


def test_a_secret_without_fields_says_so() -> None:
    """A secret with no fields renders a line saying it has none, and no spans."""
    rendered = render_secret("empty_one", 2, {})

    assert rendered.hidden == ()
    assert rendered.text.splitlines() == ["🔐 empty_one (v2)", "(this secret has no fields)"]


def test_repr_hides_the_text() -> None:
    """The repr of a rendered reply shows sizes, never the values."""
    rendered = render_secret("db_prod", 3, {"password": "hunter2"})

    assert "hunter2" not in repr(rendered)
