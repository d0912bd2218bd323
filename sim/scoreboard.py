"""An in-order scoreboard with a pluggable compare, as in cocotb's matrix_multiplier example."""

__all__ = ["Scoreboard"]

from collections import deque


class Scoreboard:
    """Pairs expected and actual transactions in order and records every difference.

    Expected items come from a model, actual items from a monitor; either may arrive first.
    Nothing is lost or duplicated exactly when :meth:`finish` reports no missing and no extra
    items and every pair compared equal.

    Parameters
    ----------
    compare : callable
        ``compare(expected, actual)`` returns ``None`` when they match, or a description
        (any JSON-able value) of the difference.
    """

    def __init__(self, compare):
        self._compare = compare
        self._expected = deque()
        self._actual = deque()
        self.matched = 0
        self.mismatches = []

    def expect(self, item, tag=None):
        self._expected.append((item, tag))
        self._drain()

    def receive(self, item):
        self._actual.append(item)
        self._drain()

    def _drain(self):
        while self._expected and self._actual:
            (expected, tag), actual = self._expected.popleft(), self._actual.popleft()
            difference = self._compare(expected, actual)
            if difference is None:
                self.matched += 1
            else:
                self.mismatches.append({"index": self.matched + len(self.mismatches),
                                        "tag": tag, "difference": difference})

    @property
    def pending_expected(self):
        return len(self._expected)

    @property
    def pending_actual(self):
        return len(self._actual)

    def finish(self):
        """A summary: matched, mismatched, missing (expected, never seen), extra (unexpected)."""
        return {
            "matched": self.matched,
            "mismatched": len(self.mismatches),
            "missing": self.pending_expected,
            "extra": self.pending_actual,
            "mismatches": self.mismatches,
            "missing_tags": [tag for _, tag in self._expected],
        }

    @property
    def passed(self):
        return not self.mismatches and not self._expected and not self._actual
