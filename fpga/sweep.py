"""``lutmix sweep``: synthesize and place a grid of configurations, in parallel, resumably.

A sweep file (TOML)::

    [sweep]                     # flow settings shared by every point (all optional)
    target = "ecp5-85k"         # default target
    seed = 1                    # nextpnr seed
    freq = 150                  # MHz; default: the target's
    pnr = true                  # false: synthesis only
    dsp = true                  # false: multipliers in logic
    timeout = 3600              # seconds per tool run
    skip_invalid = false        # true: leave out grid points the config rejects

    [base]                      # the config every point starts from, as in a config file
    preset = "w2a8"
    [base.gemm]
    max_k = 512

    [grid]                      # axes: any "<section>.<key>", and target, seed, freq, dsp
    "gemm.weight" = ["int1", "int2", "int4"]
    "gemm.n" = [16, 32, 64]
    target = ["ecp5-85k", "ice40-up5k"]

The grid is the product of its axes (the last axis varies fastest). ``[[grid]]`` (an array of
tables) gives a union of several products. Its size is counted before it is expanded:
:data:`MAX_POINTS` points at most unless the caller agrees to more (``lutmix sweep --yes``),
and never more than :data:`HARD_MAX_POINTS`.

Each point is cached in ``DIR/points/<hash>.json`` under the hash of its config, target and
flow settings, the tool versions and the SHA-256 of every unit's generated Verilog (so an RTL
change never reuses a stale result), so an interrupted sweep resumes where it stopped, and
points shared by two sweeps in the same ``DIR`` are built once. A point that does not fit its
device is a result (status ``no-fit``) and is cached too; a tool failure is reported and
retried on the next run.
"""

__all__ = ["Sweep", "Point", "FLOW_AXES", "MAX_POINTS", "HARD_MAX_POINTS", "load_sweep",
           "parse_sweep", "count_points", "check_size", "expand", "run_point", "run_points",
           "run_sweep", "point_hash", "verilog_digest", "point_keys"]

import dataclasses
import functools
import hashlib
import itertools
import json
import math
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from lutmix import __version__
from lutmix.config import SECTIONS, Config, parse_config, parse_text, read_text_file
from lutmix.errors import ConfigError, InputError, LutmixError, ToolError, show
from lutmix.outputs import Outputs, atomic_write

from .executors import make_executor
from .progress import Progress
from .synth import SynthOptions, synth_unit
from .targets import TARGETS
from .tools import TOOLS

FLOW_AXES = ("target", "seed", "freq", "dsp")
SWEEP_KEYS = ("target", "seed", "freq", "pnr", "dsp", "timeout", "skip_invalid")
# bump when the flow changes what a point's result means (wrapper, scripts, report fields)
FLOW_VERSION = 1
MAX_POINTS = 1000               # more needs the caller's consent (lutmix sweep --yes)
HARD_MAX_POINTS = 1_000_000     # never: the list of points alone would take gigabytes


@dataclass(frozen=True)
class Sweep:
    """A sweep: a base config, one or more grids, and the flow settings.

    Attributes
    ----------
    base : Config or None
        The config every point starts from; ``None`` starts from each grid section's defaults.
    grids : tuple
        Each grid is a tuple of ``(axis, values)``; an axis is ``"<section>.<key>"`` or one of
        :data:`FLOW_AXES`.
    target, seed, freq, pnr, dsp, timeout :
        Flow settings for points whose grid does not set them.
    skip_invalid : bool
        Leave out points the config rejects instead of failing.
    source : str
        Where the sweep came from, for messages.
    """
    grids: tuple
    base: Config | None = None
    target: str = "ecp5-85k"
    seed: int = 1
    freq: float | None = None
    pnr: bool = True
    dsp: bool = True
    timeout: float | None = None
    skip_invalid: bool = False
    source: str = "sweep"


@dataclass(frozen=True)
class Point:
    """One build: a config on a target with flow options; ``axes`` are its grid values."""
    index: int
    config: Config
    target: str
    options: SynthOptions
    axes: dict = field(default_factory=dict)

    def key(self):
        return point_hash(self.config, self.target, self.options)

    def to_dict(self):
        return {"index": self.index, "config": self.config.to_dict(), "target": self.target,
                "options": dataclasses.asdict(self.options), "axes": self.axes,
                "hash": self.key()}


@functools.cache
def _tool_packages():
    """The installed versions of the YoWASP packages (read once per process)."""
    out = {}
    for package, _, _ in TOOLS.values():
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = None
    return out


def point_hash(config, target, options, verilog=None):
    """The cache key of a point: its config, target, flow options and the tool versions, and
    ``verilog``, the SHA-256 of each unit's generated Verilog (``{section: digest}``)."""
    opts = dataclasses.asdict(options)
    opts.pop("timeout")                 # how long we wait does not change the result
    opts["freq"] = float(TARGETS[target].default_freq if opts["freq"] is None else opts["freq"])
    data = {"config": config.to_dict(), "target": target, "options": opts,
            "flow": FLOW_VERSION, "lutmix": __version__, "tools": _tool_packages()}
    if verilog is not None:
        data["verilog"] = verilog
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _check_flow(source, name, value):
    """Validate a flow setting; returns it (``ConfigError`` names the key and allowed values)."""
    if name == "target":
        if not isinstance(value, str) or value not in TARGETS:
            raise ConfigError(f"{source}: target must be one of "
                              f"{', '.join(map(repr, TARGETS))}, not {value!r}")
    elif name in ("pnr", "dsp", "skip_invalid"):
        if not isinstance(value, bool):
            raise ConfigError(f"{source}: {name} must be true or false, not {value!r}")
    else:
        try:
            SynthOptions(**{"seed": value} if name == "seed" else {name: value})
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{source}: {e}") from None
    return value


def parse_sweep(data, source="sweep"):
    """Build a :class:`Sweep` from a parsed TOML table; errors name ``source`` and the key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a sweep must be a table, not {data!r}")
    unknown = sorted(set(data) - {"sweep", "base", "grid"})
    if unknown:
        raise ConfigError(f"{source}: unknown table [{unknown[0]}]; allowed: [sweep], [base], "
                          f"[grid]")
    settings = data.get("sweep", {})
    if not isinstance(settings, dict):
        raise ConfigError(f"{source}: [sweep] must be a table of settings")
    kwargs = {}
    for key, value in settings.items():
        if key not in SWEEP_KEYS:
            raise ConfigError(f"{source}: [sweep] unknown key {key!r}; allowed: "
                              f"{', '.join(SWEEP_KEYS)}")
        kwargs[key] = _check_flow(f"{source}: [sweep]", key, value)
    base = None
    if "base" in data:
        base = parse_config(data["base"], f"{source}: [base]")
    grids = data.get("grid")
    if grids is None:
        raise ConfigError(f"{source}: missing [grid] (axes: \"<section>.<key>\" or "
                          f"{', '.join(FLOW_AXES)})")
    if isinstance(grids, dict):
        grids = [grids]
    if not isinstance(grids, list) or not grids or not all(isinstance(g, dict) for g in grids):
        raise ConfigError(f"{source}: [grid] must be a table, or [[grid]] tables, of axes")
    parsed = []
    for number, grid in enumerate(grids):
        where = f"{source}: [grid]" if len(grids) == 1 else f"{source}: [[grid]] {number + 1}"
        axes = []
        for axis, values in grid.items():
            _check_axis(where, axis)
            if not isinstance(values, list) or not values:
                raise ConfigError(f"{where} axis {axis!r} must be a non-empty list of values")
            if len(values) > HARD_MAX_POINTS:
                raise ConfigError(f"{where} axis {axis!r} has {len(values):,} values, more than "
                                  f"a sweep can run ({HARD_MAX_POINTS:,} points)")
            if axis in FLOW_AXES:
                values = [_check_flow(f"{where} axis {axis!r}", axis, v) for v in values]
            axes.append((axis, tuple(values)))
        if not axes:
            raise ConfigError(f"{where} has no axes")
        parsed.append(tuple(axes))
    return Sweep(grids=tuple(parsed), base=base, source=source, **kwargs)


def _check_axis(where, axis):
    if axis in FLOW_AXES:
        return
    section, _, key = axis.partition(".")
    if section not in SECTIONS or not key:
        raise ConfigError(f"{where} unknown axis {axis!r}; allowed: \"<section>.<key>\" with "
                          f"section {', '.join(SECTIONS)}, or {', '.join(FLOW_AXES)}")
    allowed = [f.name for f in dataclasses.fields(SECTIONS[section])]
    if key not in allowed:
        raise ConfigError(f"{where} unknown axis {axis!r}; [{section}] keys: "
                          f"{', '.join(allowed)}")


def load_sweep(path):
    """Read a sweep file (TOML; see :func:`lutmix.config.parse_text` for what is refused)."""
    path = Path(path)
    return parse_sweep(parse_text(read_text_file(path, "sweep"), str(path)), str(path))


def count_points(sweep):
    """Points of the grid before expansion: the sum over ``[[grid]]`` tables of the product of
    their axes' lengths (duplicates and invalid points included)."""
    return sum(math.prod(len(values) for _, values in grid) for grid in sweep.grids)


def check_size(sweep, *, yes=False):
    """Refuse a grid of more than :data:`MAX_POINTS` points unless ``yes``, and of more than
    :data:`HARD_MAX_POINTS` in any case, before expanding it; returns the count."""
    count = count_points(sweep)
    if count > HARD_MAX_POINTS:
        raise InputError(f"{sweep.source}: the grid has {count:,} points, more than a sweep can "
                         f"run ({HARD_MAX_POINTS:,})")
    if count > MAX_POINTS and not yes:
        raise InputError(f"{sweep.source}: the grid has {count:,} points, more than "
                         f"{MAX_POINTS:,}; check the axes, or pass --yes to run them all")
    return count


def _point_config(sweep, overrides, where):
    sections = {}
    base = sweep.base
    for name in SECTIONS:
        current = getattr(base, name) if base is not None else None
        values = overrides.get(name)
        if values is None:
            sections[name] = current
            continue
        try:
            sections[name] = (dataclasses.replace(current, **values) if current is not None
                              else SECTIONS[name](**values))
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{where}: [{name}] {e}") from None
    try:
        return Config(**sections)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{where}: {e}") from None


def expand(sweep):
    """The points of a sweep, in grid order, without duplicates.

    Returns
    -------
    (list of Point, list of str)
        The points, and the messages of points left out by ``skip_invalid``.
    """
    points, skipped, seen = [], [], set()
    for grid in sweep.grids:
        names = [axis for axis, _ in grid]
        for values in itertools.product(*(vals for _, vals in grid)):
            axes = dict(zip(names, values))
            label = ", ".join(f"{a}={show(v, 30)}" for a, v in axes.items())
            where = f"{sweep.source}: point {label}"
            overrides = {}
            for axis, value in axes.items():
                if axis not in FLOW_AXES:
                    section, _, key = axis.partition(".")
                    overrides.setdefault(section, {})[key] = value
            try:
                config = _point_config(sweep, overrides, where)
            except ConfigError as e:
                if sweep.skip_invalid:
                    skipped.append(str(e))
                    continue
                raise
            options = SynthOptions(pnr=sweep.pnr, freq=axes.get("freq", sweep.freq),
                                   seed=axes.get("seed", sweep.seed),
                                   dsp=axes.get("dsp", sweep.dsp), timeout=sweep.timeout)
            point = Point(len(points), config, axes.get("target", sweep.target), options, axes)
            key = point.key()
            if key in seen:
                continue
            seen.add(key)
            points.append(point)
    return points, skipped


def run_point(point):
    """Build one point (a :meth:`Point.to_dict`); returns its result dict.

    Runs in a worker process (local or Dask): everything goes in and out as plain data, and
    the work happens in a temporary directory that is removed afterwards.
    """
    start = time.monotonic()
    config = parse_config(point["config"], f"point {point['index']}")
    options = SynthOptions(**point["options"])
    result = {**point, "status": "ok", "error": None, "units": {}}
    with tempfile.TemporaryDirectory(prefix="lutmix-sweep-") as tmp:
        try:
            for section in SECTIONS:
                unit_config = getattr(config, section, None)
                if unit_config is None:
                    continue
                result["units"][section] = synth_unit(section, unit_config, point["target"],
                                                      options, Path(tmp) / section)
        except ToolError as e:
            result["status"] = "no-fit" if " does not fit " in str(e) else "failed"
            result["error"] = str(e)
        except LutmixError as e:
            result["status"] = "failed"
            result["error"] = str(e)
        except Exception as e:          # a bug: keep the sweep going, report it
            result["status"] = "failed"
            result["error"] = f"{type(e).__name__}: {e}"
            result["traceback"] = traceback.format_exc()
    result["seconds"] = round(time.monotonic() - start, 3)
    return result


def verilog_digest(item):
    """``(section, config key, SHA-256 of the unit's generated Verilog)`` for ``item = (section,
    config dict)``; runs in a worker. A unit that does not generate gets ``None`` (its points
    then fail in :func:`run_point`, which reports why)."""
    section, values = item
    key = json.dumps(values, sort_keys=True)
    try:
        from lutmix.rtl.generate import verilog
        text = verilog(section, SECTIONS[section](**values))
    except Exception:
        return section, key, None
    return section, key, hashlib.sha256(text.encode()).hexdigest()


def point_keys(points, executor=None):
    """``{point index: cache key}``: :func:`point_hash` with the digest of every unit's
    Verilog, each distinct unit config generated once (on ``executor``'s workers, or here)."""
    items = {}
    for point in points:
        for section, values in point.config.to_dict().items():
            items[(section, json.dumps(values, sort_keys=True))] = (section, values)
    run = executor.map_unordered if executor is not None else map
    digests = {(section, key): sha
               for section, key, sha in run(verilog_digest, list(items.values()))}
    keys = {}
    for point in points:
        verilog = {section: digests[(section, json.dumps(values, sort_keys=True))]
                   for section, values in point.config.to_dict().items()}
        keys[point.index] = point_hash(point.config, point.target, point.options, verilog)
    return keys


def run_points(points, cache_dir, *, jobs=None, scheduler=None, progress=True, stream=None,
               label="sweep", ready=None):
    """Run the points (:class:`Point`) not yet cached in ``cache_dir``; returns their results.

    Results come back in the order of ``points``, each with ``cached`` telling whether it came
    from the cache. Points that built (``ok``) or do not fit (``no-fit``) are cached as
    ``<key>.json`` (:func:`point_keys`); failed points are retried on the next run. The
    executor is reached first: a scheduler that cannot be reached fails before anything is
    written; then ``ready()`` (if given) is called, before ``cache_dir`` is made.
    """
    cache = Path(cache_dir)
    with make_executor(jobs=jobs, scheduler=scheduler) as executor:
        if ready is not None:
            ready()
        keys = point_keys(points, executor)
        results, pending = {}, []
        for point in points:
            path = cache / f"{keys[point.index]}.json"
            if path.is_file():
                try:
                    cached = json.loads(path.read_text())
                except (OSError, ValueError, RecursionError):
                    cached = None
                if isinstance(cached, dict) and cached.get("status") in ("ok", "no-fit"):
                    results[point.index] = {**cached, "index": point.index, "axes": point.axes,
                                            "cached": True}
                    continue
            pending.append(point)
        cache.mkdir(parents=True, exist_ok=True)
        bar = Progress(len(points), done=len(results), enabled=progress, stream=stream,
                       label=label)
        try:
            items = [{**p.to_dict(), "hash": keys[p.index]} for p in pending]
            for result in executor.map_unordered(run_point, items):
                result["cached"] = False
                if result["status"] in ("ok", "no-fit"):
                    atomic_write(cache / f"{result['hash']}.json",
                                 json.dumps(result, indent=2) + "\n")
                results[result["index"]] = result
                bar.update(result["status"])
        finally:
            bar.close()
    return [results[p.index] for p in points]


def run_sweep(sweep, outdir, *, jobs=None, scheduler=None, progress=True, stream=None,
              yes=False, inputs=()):
    """Run every point of ``sweep`` not yet cached in ``outdir/points``; write the results.

    Parameters
    ----------
    sweep : Sweep
    outdir : path
        Receives ``points/``, ``results.csv``, ``summary.md`` and the plots. It must be new,
        empty or a folder lutmix made (:class:`lutmix.outputs.Outputs`); it is made only once
        the executor is reached. The point cache fills as points finish (so a run resumes);
        the results files are written together at the end.
    jobs : int or None
        Local worker processes (default: the CPU count). Ignored with ``scheduler``.
    scheduler : str or None
        A Dask scheduler address (``tcp://host:port``): run the points on that cluster.
    progress : bool
        Show a progress bar on ``stream`` (default stderr).
    yes : bool
        Allow more than :data:`MAX_POINTS` points.
    inputs : iterable of path
        Files no output may be (the sweep file).

    Returns
    -------
    dict
        ``results`` (one dict per point, in grid order), ``skipped``, ``cached`` (how many
        came from the cache), ``files`` (what was written).
    """
    from .results import write_results

    with Outputs(inputs=inputs) as out:
        folder = out.folder(outdir, kind="sweep")
        check_size(sweep, yes=yes)
        points, skipped = expand(sweep)
        results = run_points(points, Path(outdir) / "points", jobs=jobs, scheduler=scheduler,
                             progress=progress, stream=stream, ready=folder.ensure)
        files = write_results(sweep, results, skipped, folder.stage)
    return {"results": results, "skipped": skipped,
            "cached": sum(1 for r in results if r.get("cached")),
            "files": [folder.final(f) for f in files]}
