"""A small progress bar for long runs, on stderr.

On a terminal it redraws one line; elsewhere (logs, CI) it prints one line per finished item.
"""

__all__ = ["Progress"]

import sys
import time


class Progress:
    """``total`` items, ``done`` of them already finished (e.g. from a cache).

    :meth:`update` records one finished item and its status (``"ok"``, ``"no-fit"``,
    ``"failed"``, ...); the bar shows the counts per status and an estimate of the time left,
    from the items finished in this run.
    """

    def __init__(self, total, *, done=0, enabled=True, stream=None, label="", width=30):
        self._total = total
        self._cached = done
        self._done = done
        self._counts = {}
        self._enabled = enabled
        self._stream = stream or sys.stderr
        self._label = label
        self._width = width
        self._start = time.monotonic()
        self._tty = hasattr(self._stream, "isatty") and self._stream.isatty()
        if self._enabled:
            self._draw(force=True)

    @property
    def done(self):
        return self._done

    def _line(self):
        frac = self._done / self._total if self._total else 1.0
        filled = int(round(frac * self._width))
        bar = "#" * filled + "-" * (self._width - filled)
        parts = [f"{self._label} [{bar}] {self._done}/{self._total}"]
        if self._cached:
            parts.append(f"{self._cached} cached")
        parts += [f"{n} {status}" for status, n in sorted(self._counts.items())]
        fresh = self._done - self._cached
        left = self._total - self._done
        if fresh and left:
            eta = (time.monotonic() - self._start) / fresh * left
            parts.append(f"about {_duration(eta)} left")
        return ", ".join(parts)

    def _draw(self, force=False):
        if self._tty:
            self._stream.write("\r" + self._line() + "\033[K")
        elif force or self._done:
            self._stream.write(self._line() + "\n")
        self._stream.flush()

    def update(self, status="ok"):
        self._done += 1
        self._counts[status] = self._counts.get(status, 0) + 1
        if self._enabled:
            self._draw()

    def close(self):
        if self._enabled and self._tty:
            self._stream.write("\n")
            self._stream.flush()


def _duration(seconds):
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
