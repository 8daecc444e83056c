"""Code-point spans become the UTF-16 offsets Telegram counts entities in."""

from __future__ import annotations

import random

import pytest
from telethon import types

from handlers.messages import HiddenSpan
from userbot.telegram import spoiler_entities, utf16_span


def _utf16_slice(text: str, offset: int, length: int) -> str:
    return text.encode("utf-16-le")[2 * offset : 2 * (offset + length)].decode("utf-16-le")


def test_ascii_offsets_are_unchanged() -> None:
    """Without characters outside the BMP, UTF-16 units and code points agree."""
    assert utf16_span("password: hunter2", HiddenSpan(10, 7)) == (10, 7)


def test_bmp_characters_count_one_unit() -> None:
    """Accented and Cyrillic letters are in the BMP and take one unit each."""
    assert utf16_span("пароль é: x", HiddenSpan(10, 1)) == (10, 1)


def test_emoji_before_the_span_shift_it() -> None:
    """Each astral emoji before the span moves it by one extra unit."""
    text = "🔐🔑 pw: x"

    assert utf16_span(text, HiddenSpan(7, 1)) == (9, 1)


def test_emoji_inside_the_span_lengthen_it() -> None:
    """An astral emoji inside the span counts twice in its length."""
    text = "pw: a🙂b"

    assert utf16_span(text, HiddenSpan(4, 3)) == (4, 4)


def test_joined_emoji_count_every_code_point() -> None:
    """A ZWJ sequence is several code points, astral ones two units each."""
    family = "👩\u200d👩\u200d👧"  # 3 astral code points and 2 joiners: 8 units
    text = f"{family} key: v"

    assert utf16_span(text, HiddenSpan(len(text) - 1, 1)) == (8 + 6, 1)


def test_span_outside_the_text_is_refused() -> None:
    """A span that runs past the end is a bug in the caller, not something to send."""
    with pytest.raises(ValueError, match="outside"):
        utf16_span("short", HiddenSpan(3, 5))


def test_spoiler_entities_cover_exactly_the_hidden_text() -> None:
    """For random text mixing emoji and letters, each spoiler covers the hidden characters."""
    alphabet = "ab é\nж🔐🙂🇩\u200d"
    rng = random.Random(7)
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30)))
        start = rng.randrange(len(text))
        span = HiddenSpan(start, rng.randint(0, len(text) - start))

        [entity] = spoiler_entities(text, [span])

        assert isinstance(entity, types.MessageEntitySpoiler)
        hidden = _utf16_slice(text, entity.offset, entity.length)
        assert hidden == text[span.offset : span.offset + span.length]


def _fields(count: int) -> tuple[str, list[HiddenSpan]]:
    """A reply listing `count` fields, each value hidden, with emoji to shift UTF-16 offsets."""
    text = ""
    hidden = []
    for index in range(count):
        text += f"🔑 field{index}: "
        value = f"value{index}🙂"
        hidden.append(HiddenSpan(len(text), len(value)))
        text += value + "\n"

    return text, hidden


def _covered(entities: list[types.MessageEntitySpoiler], offset: int, length: int) -> bool:
    return any(e.offset <= offset and offset + length <= e.offset + e.length for e in entities)


def test_up_to_100_spans_get_one_spoiler_each() -> None:
    """At Telegram's limit of 100 entities nothing is merged: one spoiler per span, in order."""
    text, hidden = _fields(100)

    entities = spoiler_entities(text, hidden)

    assert [(e.offset, e.length) for e in entities] == [utf16_span(text, s) for s in hidden]


@pytest.mark.parametrize("count", [101, 150, 1000])
def test_reported_more_than_100_spans_are_all_still_hidden(count: int) -> None:
    """Reported fault: spans past the 100th were sent as entities Telegram ignores.

    Now the spoilers number at most 100 and every hidden span lies inside one of them.
    """
    text, hidden = _fields(count)

    entities = spoiler_entities(text, hidden)

    assert len(entities) <= 100
    assert all(isinstance(entity, types.MessageEntitySpoiler) for entity in entities)
    for span in hidden:
        assert _covered(entities, *utf16_span(text, span)), span


def test_merging_bridges_the_narrowest_gaps_first() -> None:
    """Past 100 spans, overlapping ones join for free and the narrowest gaps are bridged.

    So the plain text that ends up behind a spoiler is as little as it can be.
    """
    text = "x" * 1000
    # 101 one-character spans 5 apart, except the last two only 2 apart, and one more
    # repeating the first, out of order: only that narrow gap needs bridging.
    offsets = [5 * index for index in range(100)] + [497]
    hidden = [HiddenSpan(offset, 1) for offset in offsets] + [HiddenSpan(0, 1)]

    entities = spoiler_entities(text, hidden)

    assert len(entities) == 100
    assert entities[0].offset == 0
    assert (entities[-1].offset, entities[-1].length) == (495, 3)
    assert sum(entity.length for entity in entities) == 99 + 3
