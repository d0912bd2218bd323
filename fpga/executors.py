"""Where sweep points run: local worker processes, or a Dask cluster.

Both executors have one method, ``map_unordered(fn, items)``, that yields ``fn(item)`` as each
finishes. ``fn`` must be importable by name (it is pickled by reference) and its items and
results plain data.
"""

__all__ = ["make_executor", "LocalExecutor", "DaskExecutor", "check_address",
           "CONNECT_TIMEOUT"]

import concurrent.futures
import concurrent.futures.process
import multiprocessing
import os
import re

from lutmix.errors import ToolError, show

CONNECT_TIMEOUT = 5.0           # seconds to reach a scheduler and find a worker there
_ADDRESS = re.compile(r"(tcp|tls|ws|wss|ucx)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})")


def check_address(address):
    """Return ``address`` if it is a Dask scheduler address (``tcp://host:port``, or ``tls``,
    ``ws``, ``wss``, ``ucx``, or ``inproc://...``); ``ValueError`` saying what is expected
    otherwise (a missing ``tcp://``, a missing or impossible port)."""
    if isinstance(address, str) and address.startswith("inproc://") and len(address) > 9:
        return address
    m = _ADDRESS.fullmatch(address) if isinstance(address, str) else None
    if m is None or not 1 <= int(m[3]) <= 65535:
        hint = " (the tcp:// is missing)" if isinstance(address, str) and "://" not in address \
            else ""
        raise ValueError(f"{show(address)} is not a Dask scheduler address{hint}; use "
                         f"tcp://HOST:PORT")
    return address


class LocalExecutor:
    """``jobs`` worker processes on this machine (started with ``spawn``); ``jobs=1`` runs
    the points in this process, one after the other."""

    def __init__(self, *, jobs=None):
        if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int)
                                 or jobs < 1):
            raise ValueError(f"jobs must be a positive integer, not {jobs!r}")
        self._jobs = jobs or os.cpu_count() or 1
        self._pool = None

    @property
    def jobs(self):
        return self._jobs

    def __enter__(self):
        if self._jobs > 1:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=self._jobs, mp_context=multiprocessing.get_context("spawn"))
        return self

    def __exit__(self, *exc):
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        return False

    def map_unordered(self, fn, items):
        if self._pool is None:
            for item in items:
                yield fn(item)
            return
        futures = [self._pool.submit(fn, item) for item in items]
        try:
            for future in concurrent.futures.as_completed(futures):
                try:
                    result = future.result()
                except concurrent.futures.process.BrokenProcessPool:
                    raise ToolError("a worker process died (out of memory, or killed); run "
                                    "again to resume, with fewer --jobs") from None
                yield result
        finally:
            for future in futures:
                future.cancel()


class DaskExecutor:
    """The workers of the Dask scheduler at ``address`` (``tcp://host:port``).

    Every worker needs lutmix and the YoWASP tools installed; each point runs in a temporary
    directory of its worker and only its report travels back.
    """

    def __init__(self, *, address, timeout=CONNECT_TIMEOUT):
        self._address = check_address(address)
        self._timeout = timeout
        self._client = None

    @property
    def address(self):
        return self._address

    def __enter__(self):
        try:
            from distributed import Client
        except ImportError:
            raise ToolError("--scheduler needs Dask: pip install 'dask[distributed]'") from None
        t = self._timeout
        try:
            self._client = Client(self._address, timeout=t, set_as_default=False)
        except Exception:           # refused, unknown host, timed out, bad handshake
            raise ToolError(f"cannot reach the Dask scheduler at {self._address} within "
                            f"{t:g} s; is it running?") from None
        try:
            self._client.wait_for_workers(1, timeout=t)
        except Exception:
            self._client.close()
            self._client = None
            raise ToolError(f"the Dask scheduler at {self._address} has no workers (waited "
                            f"{t:g} s)") from None
        return self

    def __exit__(self, *exc):
        if self._client is not None:
            self._client.close()
        return False

    def map_unordered(self, fn, items):
        from distributed import as_completed
        futures = [self._client.submit(fn, item, pure=False) for item in items]
        try:
            for future in as_completed(futures, loop=self._client.loop):
                try:
                    result = future.result()
                except Exception as e:  # fn reports its own errors: this is the worker's
                    raise ToolError(f"a worker of the Dask scheduler at {self._address} failed "
                                    f"({type(e).__name__}: {show(str(e), 80, quote=False)}); "
                                    f"does every worker have lutmix installed?") from None
                yield result
        finally:
            self._client.cancel(futures)


def make_executor(*, jobs=None, scheduler=None):
    """A :class:`DaskExecutor` if ``scheduler`` is given, else a :class:`LocalExecutor`."""
    if scheduler is not None:
        return DaskExecutor(address=scheduler)
    return LocalExecutor(jobs=jobs)
