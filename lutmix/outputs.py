"""Where commands write: every output path checked before the work, written all or nothing.

A command declares everything it will write to one :class:`Outputs` before it starts: files
(``-o Y.npy``, the ``Y.raw.npy`` companion, a kept waveform), folders (``-o DIR``,
``--workdir``) and the simulator cache (``--cache``). Each is checked at once, and a bad one is
an :class:`~lutmix.errors.InputError` naming the path:

* a file where a folder is needed, or a folder where a file is needed;
* a place lutmix cannot write in (checked by creating and removing a probe file, so it also
  catches read-only file systems and is right for every user, root included);
* an output that is one of the command's inputs, or a folder that holds one;
* a folder that is not empty and was not made by lutmix.

**Folders are lutmix's own.** lutmix writes into a folder only if it does not exist yet, is
empty, or holds the stamp file ``.lutmix`` that lutmix leaves in every folder it writes. A
stamped folder is lutmix's: a later run replaces what it wrote there (``report.json``, a unit's
subfolder). Any other non-empty folder is refused, so a user's files are never overwritten or
deleted.

**All or nothing.** The work writes into staging places: a folder's files go to a fresh
staging folder (made by :func:`tempfile.mkdtemp`, inside the folder if it exists, else beside
it), a file to a temporary file in its destination folder (:func:`tempfile.mkstemp`:
unpredictable name, ``O_EXCL``, so it never follows a planted symbolic link). When the work has
finished, :meth:`Outputs.commit` moves everything into place with renames; if it fails, nothing
is moved, the staging places are removed, and so are the folders made on the way.

>>> with Outputs(inputs=["W.npy"]) as out:             # doctest: +SKIP
...     y = out.file("Y.npy", suffix=".npy")
...     work = out.folder("work")
...     run = simulate(workdir=work.stage)
...     out.save(y, run.y)
"""

__all__ = ["Outputs", "Folder", "STAMP", "write_staged", "atomic_write"]

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from . import __version__
from .errors import InputError

STAMP = ".lutmix"
_STAGE = ".lutmix-stage-"


def _absolute(path):
    return Path(os.path.abspath(path))


def _existing_ancestor(path):
    """The nearest existing ancestor of ``path`` (absolute); ``InputError`` if one on the way
    is not a folder."""
    here = _absolute(path).parent
    while not os.path.lexists(here):
        here = here.parent
    if not here.is_dir():
        raise InputError(f"{path}: {here} is a file, not a folder")
    return here


def _probe(path, where):
    """Create and remove a file in the folder ``where``: the one sure test that ``path`` can
    be written there."""
    try:
        fd, name = tempfile.mkstemp(prefix=".lutmix-probe-", dir=where)
    except OSError as e:
        raise InputError(f"{path}: cannot write in {where} ({e.strerror or e})") from None
    os.close(fd)
    os.unlink(name)


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return _absolute(a) == _absolute(b)


def _inside(item, folder):
    try:
        Path(os.path.realpath(item)).relative_to(os.path.realpath(folder))
        return True
    except ValueError:
        return False


def _stamp_text(kind):
    return json.dumps({"made_by": f"lutmix {__version__}", "command": kind,
                       "note": "lutmix replaces its own files in this folder"}) + "\n"


class Folder:
    """An output folder of an :class:`Outputs`: ``path`` is where it ends up, ``stage`` where
    the work writes (made on first use)."""

    def __init__(self, outputs, path, kind):
        self._outputs = outputs
        self.path = Path(path)
        self.kind = kind
        self._stage = None
        self._committed = False

    @property
    def stage(self):
        """The staging folder: everything in it is moved into :attr:`path` on commit."""
        if self._committed:
            raise RuntimeError(f"{self.path} is committed; its stage is gone")
        if self._stage is None:
            if self.path.is_dir():
                where = self.path
            else:
                where = self._outputs._make_dirs(_absolute(self.path).parent)
            self._stage = Path(tempfile.mkdtemp(prefix=_STAGE, dir=where)).resolve()
        return self._stage

    def final(self, path):
        """Where ``path``, a path inside :attr:`stage`, ends up after the commit."""
        if path is None or self._stage is None:
            return path
        try:
            return self.path / Path(path).resolve().relative_to(self._stage)
        except ValueError:
            return path

    def ensure(self):
        """Make the folder (stamped) now, for outputs that must persist on their own (a
        sweep's point cache, kept even if the command fails later); returns :attr:`path`."""
        path = _absolute(self.path)
        path.mkdir(parents=True, exist_ok=True)
        atomic_write(path / STAMP, _stamp_text(self.kind))
        return self.path

    def _commit(self):
        if self._stage is None or self._committed:
            return
        stage = self._stage
        self._committed = True
        (stage / STAMP).write_text(_stamp_text(self.kind))
        path = _absolute(self.path)
        if not os.path.lexists(path):
            try:
                os.rename(stage, path)
                return
            except OSError:             # appeared meanwhile: move the items in
                pass
        for item in sorted(stage.iterdir()):
            _replace(item, path / item.name, path)
        stage.rmdir()

    def _discard(self):
        if self._stage is not None:
            shutil.rmtree(self._stage, ignore_errors=True)
            self._stage = None


def _replace(item, dest, folder):
    """Move ``item`` to ``dest`` (in ``folder``, a stamped folder), replacing what is there;
    a replaced folder is moved aside first, then removed."""
    if os.path.lexists(dest) and (item.is_dir() or (dest.is_dir() and not dest.is_symlink())):
        trash = Path(tempfile.mkdtemp(prefix=".lutmix-old-", dir=folder))
        os.rename(dest, trash / dest.name)
        os.rename(item, dest)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(item, dest)


class Outputs:
    """Everything one command writes: checked when declared, written together on commit.

    Parameters
    ----------
    inputs : iterable of path or None
        The command's input files (``None`` and names that are not files, like presets, are
        ignored): no output may be one of them, and no output folder may hold one.

    Use it as a context manager: leaving the block normally commits, an exception discards.
    """

    def __init__(self, *, inputs=()):
        self._inputs = [Path(p) for p in inputs if p is not None and os.path.isfile(p)]
        self._files = {}            # absolute destination -> (shown path, temp path or None)
        self._folders = []
        self._made = []             # folders made on the way, to remove on discard

    # -- declaring -----------------------------------------------------------------------
    def file(self, path, *, suffix=None):
        """Declare an output file; returns it as a ``Path``."""
        path = Path(path)
        if suffix is not None and path.suffix != suffix:
            raise InputError(f"{path}: the output must be a {suffix} file")
        if path.is_dir():
            raise InputError(f"{path}: is a folder; the output must be a file")
        if os.path.exists(path) and not path.is_file():
            raise InputError(f"{path}: is not a regular file; the output must be one")
        for item in self._inputs:
            if _same_file(path, item):
                raise InputError(f"{path}: is also an input ({item}); choose another output")
        self._check_new(path)
        _probe(path, _existing_ancestor(path))
        self._files[_absolute(path)] = (path, None)
        return path

    def folder(self, path, *, kind="output"):
        """Declare an output folder; returns its :class:`Folder`."""
        path = Path(path)
        if os.path.lexists(path) and not path.exists():
            raise InputError(f"{path}: is a broken symbolic link; the output must be a folder")
        if path.exists() and not path.is_dir():
            raise InputError(f"{path}: is a file, not a folder")
        for item in self._inputs:
            if path.exists() and _inside(item, path):
                raise InputError(f"{path}: holds the input {item}; choose another folder")
        self._check_new(path)
        if path.is_dir():
            try:
                names = os.listdir(path)
            except OSError as e:
                raise InputError(f"{path}: cannot read the folder ({e.strerror})") from None
            if names and STAMP not in names:
                raise InputError(f"{path}: is not empty and was not made by lutmix (it has no "
                                 f"{STAMP} stamp); choose a new or empty folder")
            _probe(path, path)
        else:
            _probe(path, _existing_ancestor(path))
        folder = Folder(self, path, kind)
        self._folders.append(folder)
        return folder

    def cache(self, path):
        """Check a cache folder (shared and kept: not staged, no stamp needed)."""
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise InputError(f"{path}: is a file, not a folder (the simulator cache)")
        _probe(path, path if path.is_dir() else _existing_ancestor(path))
        return path

    def _check_new(self, path):
        key = _absolute(path)
        if key in self._files or any(_absolute(f.path) == key for f in self._folders):
            raise InputError(f"{path}: given twice as an output")

    # -- writing -------------------------------------------------------------------------
    def _temp(self, path):
        key = _absolute(path)
        if key not in self._files:
            raise ValueError(f"{path!r} was not declared as an output file")
        shown, old = self._files[key]
        if old is not None:
            os.unlink(old)
        parent = self._make_dirs(key.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{key.name}.", suffix=".tmp", dir=parent)
        self._files[key] = (shown, Path(tmp))
        return fd

    def save(self, path, array):
        """Stage ``array`` as the ``.npy`` file ``path``."""
        with os.fdopen(self._temp(path), "wb") as f:
            np.save(f, array, allow_pickle=False)

    def write_bytes(self, path, data):
        """Stage ``data`` as the file ``path``."""
        with os.fdopen(self._temp(path), "wb") as f:
            f.write(data)

    def copy(self, source, path):
        """Stage a copy of the file ``source`` as ``path``."""
        with os.fdopen(self._temp(path), "wb") as f, open(source, "rb") as src:
            shutil.copyfileobj(src, f)

    def _make_dirs(self, folder):
        folder = _absolute(folder)
        missing = []
        while not os.path.lexists(folder):
            missing.append(folder)
            folder = folder.parent
        for item in reversed(missing):
            item.mkdir()
            self._made.append(item)
        return missing[0] if missing else folder

    # -- finishing -----------------------------------------------------------------------
    def commit(self):
        """Move every staged output into place."""
        for folder in self._folders:
            folder._commit()
        for key, (shown, tmp) in self._files.items():
            if tmp is not None:
                os.replace(tmp, key)
                self._files[key] = (shown, None)
        self._made.clear()

    def discard(self):
        """Remove every staging place and the folders made for them; nothing is written."""
        for folder in self._folders:
            folder._discard()
        for key, (shown, tmp) in self._files.items():
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                self._files[key] = (shown, None)
        for item in reversed(self._made):
            try:
                item.rmdir()
            except OSError:             # not empty: something else wrote there
                pass
        self._made.clear()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.discard()
        return False


def write_staged(outdir, kind, build, *, inputs=()):
    """Run ``build(stage)`` in the staging folder of the output folder ``outdir``, write the
    report it returns to ``report.json``, then move everything into ``outdir``; on any failure
    ``outdir`` is untouched. Returns the report.

    ``outdir`` is checked first (see :class:`Outputs`): a file, an unwritable place, or a
    non-empty folder lutmix did not make is an :class:`~lutmix.errors.InputError`.
    """
    with Outputs(inputs=inputs) as out:
        folder = out.folder(outdir, kind=kind)
        report = build(folder.stage)
        (folder.stage / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def atomic_write(path, data):
    """Replace the file ``path`` with ``data`` (str or bytes) in one rename, through a temporary
    file of :func:`tempfile.mkstemp` in the same folder: readers see the old file or the new
    one, never a part, and a planted symbolic link is never followed."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
