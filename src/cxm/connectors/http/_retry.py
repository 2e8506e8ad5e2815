"""When to try again and how long to wait: the retry policy, ``Retry-After``, the rate limiter.

A failed attempt is retried after an exponentially growing delay drawn with full jitter (a
uniform draw between zero and the capped exponential), so that many clients hit by the same
outage do not come back in lock-step; a ``Retry-After`` the server sends replaces the draw,
because the server knows best when it will answer again. The rate limiter is a token bucket that
spaces requests before they are sent, so a connector stays under a vendor's quota instead of
learning it from 429 answers. Every clock and every sleep is injectable: tests check the delays
without waiting for them.
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import attrs

from cxm.exceptions import ValidationError

__all__ = ["IDEMPOTENT_METHODS", "RateLimiter", "RetryPolicy", "parse_retry_after"]

IDEMPOTENT_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PUT", "TRACE"})
_DELAY_SECONDS = re.compile(r"\s*(\d+(?:\.\d+)?)\s*")


def _methods(value: Iterable[str]) -> frozenset[str]:
    if isinstance(value, str):
        value = [value]
    return frozenset(str(method).upper() for method in value)


def _statuses(value: Iterable[int]) -> frozenset[int]:
    return frozenset(int(status) for status in value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _at_least(minimum: float, *, strict: bool = False) -> Callable[[Any, Any, Any], None]:
    def check(instance: Any, attribute: Any, value: Any) -> None:
        too_small = value <= minimum if strict else value < minimum
        if not _is_number(value) or too_small:
            bound = f"above {minimum:g}" if strict else f"at least {minimum:g}"
            raise ValidationError(
                f"{type(instance).__name__}.{attribute.name}", value, f"must be a number {bound}"
            )

    return check


def parse_retry_after(
    value: str | None, *, now: datetime | float | None = None, date: str | None = None
) -> float | None:
    """Return how many seconds a ``Retry-After`` header asks the client to wait.

    Both forms of RFC 9110 §10.2.3 are read: a number of seconds and an HTTP-date (IMF-fixdate,
    and the obsolete RFC 850 and asctime forms). A date is measured against the server's own
    ``Date`` header when the answer carries one, so a client whose clock is off still waits as
    long as the server meant; otherwise against ``now``.

    Args:
        value: The header's value, or ``None`` when the answer had none.
        now: The current time, as an aware ``datetime`` or seconds since the epoch; defaults to
            the system clock.
        date: The answer's ``Date`` header, if any.

    Returns:
        Seconds to wait, never negative (a date in the past means "now": ``0.0``), or ``None``
        when the header is absent or unreadable.

    Examples:
        >>> parse_retry_after("120")
        120.0
        >>> parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", date="Wed, 21 Oct 2015 07:28:00 GMT")
        30.0
        >>> parse_retry_after("soon") is None
        True
    """
    if value is None:
        return None
    seconds = _DELAY_SECONDS.fullmatch(value)
    if seconds:
        delay = float(seconds[1])
        return delay if math.isfinite(delay) else None
    target = _http_date(value)
    if target is None:
        return None
    reference = _http_date(date) if date is not None else None
    if reference is None:
        if now is None:
            now = time.time()
        reference = now if isinstance(now, datetime) else datetime.fromtimestamp(now, UTC)
        if reference.tzinfo is None:
            reference = reference.replace(tzinfo=UTC)
    return max(0.0, (target - reference).total_seconds())


def _http_date(value: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # HTTP-dates are always GMT; the asctime form carries no zone at all.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How often to try a request and how long to wait between tries.

    A request is retried when the answer's status is in :attr:`statuses` or the connection
    failed (``httpx.TransportError``), and only for :attr:`methods`: a ``POST`` is not retried
    unless added, since sending it twice may create two of something. A failure to connect is
    retried for every method, since nothing reached the server.

    Attributes:
        attempts: Tries in all, the first included (``1`` means never retry).
        backoff: Ceiling of the first delay, in seconds.
        multiplier: Factor by which the ceiling grows with each retry.
        max_backoff: The ceiling never grows past this, in seconds.
        jitter: Draw each delay uniformly between 0 and the ceiling ("full jitter"); without it
            the delay is the ceiling itself.
        statuses: Status codes worth another try.
        max_retry_after: The longest ``Retry-After`` honoured, in seconds. A server asking for
            more is not waited for: the request fails at once with
            :class:`~cxm.RateLimitedError` (for 429) carrying ``retry_after``.
        methods: Methods that are retried (upper case). Default: the idempotent ones;
            ``RetryPolicy(methods=IDEMPOTENT_METHODS | {"POST"})`` opts ``POST`` in.
        sleep: Called with the delay in seconds; tests pass a recorder.
        clock: Seconds since the epoch, to measure an HTTP-date ``Retry-After`` against when
            the answer has no ``Date`` header.
        rng: Source of the jitter; tests pass a seeded ``random.Random``.
        wait_hint: Reads the wait from a vendor's own headers (``X-RateLimit-Reset`` and the
            like) when an answer has no ``Retry-After``: called with the headers, it returns
            seconds or ``None``. A connector sets it with ``attrs.evolve(policy,
            wait_hint=...)``, keeping the user's other settings.

    Examples:
        >>> policy = RetryPolicy(jitter=False)
        >>> [policy.backoff_delay(retry) for retry in (1, 2, 3)]
        [0.5, 1.0, 2.0]
    """

    attempts: int = attrs.field(default=5, validator=_at_least(1))
    backoff: float = attrs.field(default=0.5, validator=_at_least(0))
    multiplier: float = attrs.field(default=2.0, validator=_at_least(1))
    max_backoff: float = attrs.field(default=60.0, validator=_at_least(0))
    jitter: bool = True
    statuses: frozenset[int] = attrs.field(
        default=frozenset({429, 500, 502, 503, 504}), converter=_statuses
    )
    max_retry_after: float = attrs.field(default=300.0, validator=_at_least(0))
    methods: frozenset[str] = attrs.field(default=IDEMPOTENT_METHODS, converter=_methods)
    sleep: Callable[[float], object] = attrs.field(default=time.sleep, eq=False, repr=False)
    clock: Callable[[], float] = attrs.field(default=time.time, eq=False, repr=False)
    rng: random.Random = attrs.field(factory=random.Random, eq=False, repr=False)
    wait_hint: Callable[[Any], float | None] | None = attrs.field(
        default=None, eq=False, repr=False
    )

    def backoff_delay(self, retry: int) -> float:
        """Return the delay before retry number ``retry`` (1 for the first retry).

        The ceiling is ``min(max_backoff, backoff * multiplier ** (retry - 1))``; with
        :attr:`jitter` the delay is drawn uniformly from ``[0, ceiling]``.
        """
        try:
            ceiling = min(self.max_backoff, self.backoff * self.multiplier ** (retry - 1))
        except OverflowError:
            ceiling = self.max_backoff
        return self.rng.uniform(0.0, ceiling) if self.jitter else ceiling

    def retry_after(self, headers: Any) -> float | None:
        """Return the wait a response asks for, in seconds, or ``None``.

        ``Retry-After`` when the answer has one, else what :attr:`wait_hint` reads.

        Args:
            headers: The response's headers (a mapping with case-insensitive ``get``).

        Examples:
            >>> policy = RetryPolicy(wait_hint=lambda h: float(h.get("x-reset", 0)) or None)
            >>> policy.retry_after({"retry-after": "3"}), policy.retry_after({"x-reset": "40"})
            (3.0, 40.0)
        """
        wait = parse_retry_after(
            headers.get("retry-after"), now=self.clock(), date=headers.get("date")
        )
        if wait is None and self.wait_hint is not None:
            wait = self.wait_hint(headers)
        return wait


class RateLimiter:
    """A token bucket that spaces requests to at most ``per_second`` on average.

    The bucket holds up to ``burst`` tokens and refills at ``per_second``; each request takes
    one, waiting for it when the bucket is empty. Waiting callers reserve their token under a
    lock and sleep outside it, so threads sharing a limiter are served in order and never more
    often than the rate allows.

    Args:
        per_second: Average requests per second allowed (may be below 1: ``0.2`` is one request
            every five seconds).
        burst: Requests that may go out back to back after a quiet spell.
        clock: Monotonic seconds; tests pass a fake.
        sleep: Called with the wait in seconds; tests pass a fake that advances the clock.

    Raises:
        ValidationError: If ``per_second`` is not above 0 or ``burst`` is below 1.

    Examples:
        >>> now = [0.0]
        >>> def wait(seconds):
        ...     now[0] += seconds
        >>> limiter = RateLimiter(2, clock=lambda: now[0], sleep=wait)
        >>> [limiter.acquire() for _ in range(3)]
        [0.0, 0.5, 0.5]
    """

    def __init__(
        self,
        per_second: float,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if not _is_number(per_second):
            raise ValidationError("RateLimiter.per_second", per_second, "must be a number")
        if not per_second > 0 or not math.isfinite(per_second):
            raise ValidationError("RateLimiter.per_second", per_second, "must be above 0")
        if not _is_number(burst) or int(burst) != burst or burst < 1:
            raise ValidationError("RateLimiter.burst", burst, "must be an integer of at least 1")
        self.per_second = float(per_second)
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._updated = clock()

    def acquire(self) -> float:
        """Take one token, waiting until there is one.

        Returns:
            The seconds waited (``0.0`` when a token was there).
        """
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._updated)
            self._tokens = min(float(self.burst), self._tokens + elapsed * self.per_second)
            self._updated = now
            self._tokens -= 1.0
            wait = -self._tokens / self.per_second if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait

    def __repr__(self) -> str:
        return f"RateLimiter(per_second={self.per_second:g}, burst={self.burst})"
