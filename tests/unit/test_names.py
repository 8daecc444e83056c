"""Secret names: which ones a chat may ask for, and how a name becomes a KV path."""

from __future__ import annotations

import pytest

from custody.errors import CommandError
from custody.names import kv_path, validate_secret_name

INVALID = [
    pytest.param("", id="empty"),
    pytest.param("..", id="dot-dot"),
    pytest.param(".", id="dot"),
    pytest.param("a/../b", id="climbs-out"),
    pytest.param("/a", id="leading-slash"),
    pytest.param("a/", id="trailing-slash"),
    pytest.param("a//b", id="empty-part"),
    pytest.param("a b", id="space"),
    pytest.param("a" * 201, id="201-chars"),
    pytest.param("пароль", id="unicode"),
    pytest.param("-x", id="leading-dash"),
    pytest.param(".hidden", id="leading-dot"),
    pytest.param("db_prod\n", id="trailing-newline"),
    pytest.param("a\nb", id="inner-newline"),
]


@pytest.mark.parametrize("name", ["db_prod", "a.b-c", "team/db", "A1", "x" * 64, "ops/db.v2/_x"])
def test_valid_names_are_returned_unchanged(name: str) -> None:
    """A name of allowed parts joined by '/' is accepted as it is."""
    assert validate_secret_name(name) == name


@pytest.mark.parametrize("name", INVALID)
def test_invalid_names_raise_a_one_line_command_error(name: str) -> None:
    """A name that is empty, too long, climbs, or holds other characters raises CommandError."""
    with pytest.raises(CommandError) as caught:
        validate_secret_name(name)

    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "name", ["..", "a/../b", "/a", "a/", "a b", "пароль", "-x", ".hidden", ""]
)
def test_the_error_quotes_the_name(name: str) -> None:
    """The message shows the name that was refused, in quotes."""
    with pytest.raises(CommandError) as caught:
        validate_secret_name(name)

    assert f"'{name}'" in str(caught.value)


def test_the_error_shortens_a_long_name() -> None:
    """A long name appears in the message cut short with an ellipsis, not in full."""
    name = "n" * 201

    with pytest.raises(CommandError) as caught:
        validate_secret_name(name)

    message = str(caught.value)
    assert name not in message
    assert "n" * 20 + "…" in message


def test_a_single_part_name_of_200_letters_is_valid() -> None:
    """A 200-letter name is accepted, as the '1 to 200 characters' rule in the message says."""
    name = "a" * 200

    assert validate_secret_name(name) == name


@pytest.mark.parametrize(
    ("prefix", "name", "path"),
    [
        ("apps", "db", "apps/db"),
        ("/apps/", "db", "apps/db"),
        ("", "db", "db"),
        ("/", "team/db", "team/db"),
        ("a/b", "team/db", "a/b/team/db"),
    ],
)
def test_kv_path_joins_prefix_and_name(prefix: str, name: str, path: str) -> None:
    """kv_path puts exactly one '/' between a trimmed prefix and the name, none if no prefix."""
    assert kv_path(prefix, name) == path
