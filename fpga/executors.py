"""Where sweep points run: local worker processes, or a Dask cluster.

Both executors have one method, ``map_unordered(fn, items)``, that yields ``fn(item)`` as each
finishes. ``fn`` must be importable by name (it is pickled by reference) and its items and
results plain data.
"""

__all__ = ["make_executor", "LocalExecutor", "DaskExecutor"]

import concurrent.futures
import multiprocessing
import os

from lutmix.errors import ToolError


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
                yield future.result()
        finally:
            for future in futures:
                future.cancel()


class DaskExecutor:
    """The workers of the Dask scheduler at ``address`` (``tcp://host:port``).

    Every worker needs lutmix and the YoWASP tools installed; each point runs in a temporary
    directory of its worker and only its report travels back.
    """

    def __init__(self, *, address):
        if not isinstance(address, str) or "://" not in address:
            raise ValueError(f"address must be a scheduler address like 'tcp://host:8786', "
                             f"not {address!r}")
        self._address = address
        self._client = None

    @property
    def address(self):
        return self._address

    def __enter__(self):
        try:
            from distributed import Client
        except ImportError:
            raise ToolError("--scheduler needs Dask: pip install 'dask[distributed]'") from None
        try:
            self._client = Client(self._address, timeout=30, set_as_default=False)
        except (OSError, TimeoutError) as e:
            raise ToolError(f"cannot reach the Dask scheduler at {self._address}: {e}") \
                from None
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
                yield future.result()
        finally:
            self._client.cancel(futures)


def make_executor(*, jobs=None, scheduler=None):
    """A :class:`DaskExecutor` if ``scheduler`` is given, else a :class:`LocalExecutor`."""
    if scheduler is not None:
        return DaskExecutor(address=scheduler)
    return LocalExecutor(jobs=jobs)
