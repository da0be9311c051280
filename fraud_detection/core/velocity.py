"""Card velocity: more than `uses_max` uses of one card within `window_s` is suspicious (card testing).

Pure: time comes in as `now_s`. Cards are keyed by a keyed hash, never the number; at most `cards_max`
cards are remembered, and when full the card idle longest is forgotten (leniency, never a false reject).
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict, deque

FINGERPRINT_HEX_LENGTH = 32


def card_fingerprint(digits: str, key: bytes) -> str:
    """A keyed hash of the card number: equal for the same card, useless to anyone without the key."""
    if not key:
        raise ValueError("a fingerprint key is required")
    return hmac.new(key, digits.encode(), hashlib.sha256).hexdigest()[:FINGERPRINT_HEX_LENGTH]


class CardVelocity:
    """Uses per card in a sliding window. Not thread-safe: the caller holds a lock."""

    def __init__(self, *, uses_max: int, window_s: float, cards_max: int) -> None:
        if uses_max < 1 or window_s <= 0 or cards_max < 1:
            raise ValueError("uses_max and cards_max must be at least 1, window_s positive")
        self.uses_max = uses_max
        self.window_s = window_s
        self.cards_max = cards_max
        self.forgotten = 0  # cards dropped because the memory was full (a metric)
        self._uses: OrderedDict[str, deque[float]] = OrderedDict()  # least recently used first

    def record_use(self, fingerprint: str, now_s: float) -> bool:
        """Records one use at `now_s`; True when this use makes more than `uses_max` in the window."""
        uses = self._uses.pop(fingerprint, None)
        if uses is None:
            self._make_room(now_s)
            uses = deque()
        while uses and uses[0] <= now_s - self.window_s:
            uses.popleft()
        uses.append(now_s)
        while len(uses) > self.uses_max + 1:  # one more than the limit is all the rule needs to see
            uses.popleft()
        self._uses[fingerprint] = uses
        assert len(self._uses) <= self.cards_max
        return len(uses) > self.uses_max

    def uses_in_window(self, fingerprint: str, now_s: float) -> int:
        return sum(1 for t in self._uses.get(fingerprint, ()) if t > now_s - self.window_s)

    def __len__(self) -> int:
        return len(self._uses)

    def _make_room(self, now_s: float) -> None:
        # First forget cards whose every use has left the window (at the front: least recently used).
        while self._uses:
            oldest_key = next(iter(self._uses))
            if self._uses[oldest_key][-1] > now_s - self.window_s:
                break
            del self._uses[oldest_key]
        if len(self._uses) >= self.cards_max:
            self._uses.popitem(last=False)
            self.forgotten += 1
