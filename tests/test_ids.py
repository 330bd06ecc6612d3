"""Prediction ids are RFC 9562 version 7 UUIDs: time-ordered, unique, valid UUIDs."""

from __future__ import annotations

import time
import uuid

from seismo.ids import new_id, new_ids


def test_ids_are_version_7_uuids_carrying_the_time() -> None:
    before = time.time_ns() // 1_000_000
    ids = new_ids(1000)
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == 1000
    for text in ids:
        assert len(text) == 32
        parsed = uuid.UUID(hex=text)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert before <= parsed.int >> 80 <= after


def test_later_ids_sort_after_earlier_ones() -> None:
    first = new_id()
    time.sleep(0.002)
    later = new_ids(50)
    assert all(first < text for text in later)


def test_the_random_bits_vary() -> None:
    ids = new_ids(2000)
    tails = {text[-16:] for text in ids}
    assert len(tails) == 2000
    # each of the 62 random low bits is set in roughly half of the ids
    ones = [sum(int(text, 16) >> bit & 1 for text in ids) for bit in range(62)]
    assert all(800 < count < 1200 for count in ones)
