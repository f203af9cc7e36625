"""In-process limit on failed web log-ins per (user name, client address).

Scrypt makes each guess slow but not rare; after ``max_failures`` failures within
``window_seconds`` the pair is refused (HTTP 429) until the oldest failure leaves the
window. A successful log-in clears the pair. State is per process: with several
server workers an attacker gets ``max_failures`` per worker, still a hard ceiling.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable


class FailedLoginLimiter:
    """Count failed log-ins per key in a sliding window; thread-safe.

    Example
    -------
    >>> now = [0.0]
    >>> lim = FailedLoginLimiter(max_failures=2, window_seconds=60, clock=lambda: now[0])
    >>> lim.record_failure(("ann", "10.0.0.1")); lim.record_failure(("ann", "10.0.0.1"))
    >>> lim.retry_after(("ann", "10.0.0.1"))
    60
    >>> now[0] = 61.0
    >>> lim.retry_after(("ann", "10.0.0.1"))
    0
    """

    def __init__(self, max_failures: int = 5, window_seconds: float = 300.0, *,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        if max_failures < 1:
            raise ValueError(f"max_failures: expected at least 1, got {max_failures}")
        if window_seconds <= 0:
            raise ValueError(f"window_seconds: expected a positive number, got {window_seconds}")
        self.max_failures, self.window_seconds = max_failures, float(window_seconds)
        self._clock, self._max_keys = clock, max_keys
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _prune(self, key: tuple[str, str], now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window_seconds:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, key: tuple[str, str]) -> int:
        """Whole seconds until ``key`` may try again; 0 when it may try now."""
        with self._lock:
            now = self._clock()
            times = self._prune(key, now)
            if times is None or len(times) < self.max_failures:
                return 0
            return max(1, math.ceil(times[0] + self.window_seconds - now))

    def record_failure(self, key: tuple[str, str]) -> None:
        with self._lock:
            now = self._clock()
            if key not in self._failures and len(self._failures) >= self._max_keys:
                # Bound memory under a spray of names: drop keys whose failures all expired,
                # then, if still full, the key with the oldest latest failure.
                for k in list(self._failures):
                    self._prune(k, now)
                if len(self._failures) >= self._max_keys:
                    del self._failures[min(self._failures, key=lambda k: self._failures[k][-1])]
            times = self._failures.setdefault(key, deque())
            times.append(now)
            while len(times) > self.max_failures:
                times.popleft()

    def record_success(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._failures.pop(key, None)


class LoginLimits:
    """The three limits a log-in passes: per (name, client), per account and per client.

    The pair limit stops guessing one account from one place; the account limit stops a
    guesser who rotates addresses (a botnet, or a forged ``X-Forwarded-For`` before only
    configured proxies were trusted); the client limit stops one address spraying names.
    A success clears only the pair: an account under attack stays limited.
    """

    def __init__(self, *, per_pair: int = 5, per_account: int = 20, per_client: int = 50,
                 window_seconds: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.pair = FailedLoginLimiter(per_pair, window_seconds, clock=clock)
        self.account = FailedLoginLimiter(per_account, window_seconds, clock=clock)
        self.client = FailedLoginLimiter(per_client, window_seconds, clock=clock)

    def _keys(self, name: str, client: str) -> tuple[tuple[FailedLoginLimiter, tuple[str, str]], ...]:
        return ((self.pair, (name, client)), (self.account, (name, "*")), (self.client, ("*", client)))

    def retry_after(self, name: str, client: str) -> int:
        return max(limiter.retry_after(key) for limiter, key in self._keys(name, client))

    def record_failure(self, name: str, client: str) -> None:
        for limiter, key in self._keys(name, client):
            limiter.record_failure(key)

    def record_success(self, name: str, client: str) -> None:
        self.pair.record_success((name, client))
