"""``ExpiryPolicy``: when a session dies and when a visit must push its expiry, as
decision tables over (settings, times) -> answer. Every time is an argument."""

from __future__ import annotations

import pytest

from sessionware.core.expiry import ExpiryPolicy, lifetime_limits
from sessionware.core.record import NEVER

T = 1_000_000.0  # created_at of every row; "now" is given relative to it


@pytest.mark.parametrize(
    ("idle_timeout", "max_age", "now", "expected"),
    [
        pytest.param(None, None, T + 5, NEVER, id="no-limits-never-expires"),
        pytest.param(60, None, T + 5, T + 65, id="idle-only-now-plus-idle"),
        pytest.param(None, 100, T + 5, T + 100, id="max-age-only-created-plus-max-age"),
        pytest.param(60, 100, T + 5, T + 65, id="idle-deadline-before-the-max-age"),
        pytest.param(60, 100, T + 50, T + 100, id="max-age-caps-the-idle-deadline"),
        pytest.param(60, 100, T + 40, T + 100, id="tie-goes-to-either-same-time"),
        pytest.param(60, 100, T + 150, T + 100, id="past-the-max-age-stays-at-it"),
    ],
)
def test_expires_at(
    idle_timeout: float | None, max_age: float | None, now: float, expected: float
) -> None:
    assert ExpiryPolicy(idle_timeout, max_age).expires_at(T, now) == expected


@pytest.mark.parametrize(
    ("max_age", "now", "expired"),
    [
        pytest.param(None, T + 10**9, False, id="no-max-age-never"),
        pytest.param(100, T + 99.9, False, id="just-before-the-max-age"),
        pytest.param(100, T + 100, True, id="at-the-max-age"),
        pytest.param(100, T + 101, True, id="after-the-max-age"),
    ],
)
def test_cookie_expired(max_age: float | None, now: float, expired: bool) -> None:
    assert ExpiryPolicy(60, max_age).cookie_expired(T, now) is expired


@pytest.mark.parametrize(
    ("idle_timeout", "touch_fraction", "stored", "new", "due"),
    [
        pytest.param(None, 0.1, T, T + 10**6, False, id="no-idle-timeout-never-touches"),
        pytest.param(1000, 0.1, T, T + 99, False, id="below-the-throttle"),
        pytest.param(1000, 0.1, T, T + 100, True, id="at-the-throttle"),
        pytest.param(1000, 0.1, T, T + 500, True, id="above-the-throttle"),
        pytest.param(1000, 0.1, T + 10, T, False, id="never-shortens"),
        pytest.param(1000, 0.0, T, T + 0.001, True, id="no-throttle-any-later-expiry"),
        pytest.param(1000, 0.0, T, T, False, id="no-throttle-same-expiry-is-not-a-touch"),
    ],
)
def test_touch_due(
    idle_timeout: float | None, touch_fraction: float, stored: float, new: float, due: bool
) -> None:
    assert ExpiryPolicy(idle_timeout, None, touch_fraction).touch_due(stored, new) is due


@pytest.mark.parametrize(
    ("idle_timeout", "max_age", "touch_fraction", "message"),
    [
        pytest.param(0, None, 0.1, "idle_timeout must be positive", id="zero-idle"),
        pytest.param(-1, None, 0.1, "idle_timeout must be positive", id="negative-idle"),
        pytest.param(None, 0, 0.1, "max_age must be positive", id="zero-max-age"),
        pytest.param(60, None, 1.0, "touch_fraction", id="fraction-of-one"),
        pytest.param(60, None, -0.1, "touch_fraction", id="negative-fraction"),
    ],
)
def test_invalid_settings_are_refused(
    idle_timeout: float | None, max_age: float | None, touch_fraction: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ExpiryPolicy(idle_timeout, max_age, touch_fraction)


@pytest.mark.parametrize(
    ("lifetime", "sliding", "idle_timeout", "max_age", "expected"),
    [
        pytest.param(3600, True, None, None, (3600, None), id="sliding-is-idle-timeout"),
        pytest.param(3600, True, None, 86400, (3600, 86400), id="sliding-keeps-max-age-as-a-cap"),
        pytest.param(3600, True, 600, None, (600, None), id="sliding-a-shorter-idle-timeout-wins"),
        pytest.param(3600, False, None, None, (None, 3600), id="absolute-lifetime-is-the-max-age"),
        pytest.param(3600, False, 600, 7200, (600, 3600), id="absolute-the-shorter-max-age-wins"),
        pytest.param(None, True, None, 86400, (None, 86400), id="no-lifetime-leaves-the-others"),
    ],
)
def test_lifetime_limits(
    lifetime: float | None,
    sliding: bool,
    idle_timeout: float | None,
    max_age: float | None,
    expected: tuple[float | None, float | None],
) -> None:
    limits = lifetime_limits(lifetime, sliding=sliding, idle_timeout=idle_timeout, max_age=max_age)
    assert limits == expected
