"""Retry timing: flush back-off and the pauses between compare-and-set attempts."""

from __future__ import annotations

from sessionware.core.retry import FAST_RETRIES, conflict_pause


def test_the_first_conflicts_are_retried_at_once() -> None:
    assert [conflict_pause(n, rng=lambda: 1.0) for n in range(1, FAST_RETRIES + 1)] == [
        0.0
    ] * FAST_RETRIES


def test_later_conflicts_pause_a_growing_jittered_time_capped_at_20_ms() -> None:
    pauses = [conflict_pause(n, rng=lambda: 1.0) for n in range(FAST_RETRIES + 1, 40)]
    assert pauses == sorted(pauses)
    assert 0 < pauses[0] < 0.002
    assert max(pauses) == 0.02


def test_the_pause_is_jittered_between_zero_and_its_cap() -> None:
    assert conflict_pause(FAST_RETRIES + 5, rng=lambda: 0.0) == 0.0
    assert (
        conflict_pause(FAST_RETRIES + 5, rng=lambda: 0.5)
        == conflict_pause(FAST_RETRIES + 5, rng=lambda: 1.0) / 2
    )
