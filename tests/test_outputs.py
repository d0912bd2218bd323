"""lutmix.outputs: outputs checked when declared, written all or nothing, never a user's files."""
import json
import os

import numpy as np
import pytest

from lutmix.errors import InputError
from lutmix.outputs import STAMP, Outputs, atomic_write, write_staged


def listing(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_files_and_folders_are_written_together(tmp_path):
    with Outputs() as out:
        y = out.file(tmp_path / "a" / "b" / "Y.npy", suffix=".npy")
        folder = out.folder(tmp_path / "work")
        (folder.stage / "log.txt").write_text("hello\n")
        out.save(y, np.arange(3))
        assert not (tmp_path / "work").exists() and not y.exists()
    assert np.load(y).tolist() == [0, 1, 2]
    assert (tmp_path / "work" / "log.txt").read_text() == "hello\n"
    assert json.loads((tmp_path / "work" / STAMP).read_text())["made_by"].startswith("lutmix")
    assert listing(tmp_path) == ["a", "a/b", "a/b/Y.npy", "work", "work/.lutmix",
                                 "work/log.txt"]


def test_a_failure_writes_nothing_and_removes_the_folders_it_made(tmp_path):
    (tmp_path / "old.txt").write_text("keep\n")
    with pytest.raises(RuntimeError):
        with Outputs() as out:
            y = out.file(tmp_path / "a" / "b" / "Y.npy")
            raw = out.file(tmp_path / "Y.raw.npy")
            folder = out.folder(tmp_path / "c" / "work")
            (folder.stage / "partial.txt").write_text("half")
            out.save(y, np.zeros(3))
            out.save(raw, np.zeros(3))
            raise RuntimeError("the simulation died")
    assert listing(tmp_path) == ["old.txt"]


def test_a_stamped_folder_is_reused_and_its_old_outputs_replaced(tmp_path):
    write_staged(tmp_path / "out", "synth", lambda stage: (stage / "gemm").mkdir() or {"n": 1})
    (tmp_path / "out" / "gemm" / "old.v").write_text("from the first run")
    (tmp_path / "out" / "mine.txt").write_text("a note the user left")

    def build(stage):
        (stage / "gemm").mkdir()
        (stage / "gemm" / "new.v").write_text("second run")
        return {"n": 2}
    assert write_staged(tmp_path / "out", "synth", build) == {"n": 2}
    assert listing(tmp_path / "out") == [".lutmix", "gemm", "gemm/new.v", "mine.txt",
                                         "report.json"]
    assert json.loads((tmp_path / "out" / "report.json").read_text()) == {"n": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]          # no staging left behind


def test_a_folder_lutmix_did_not_make_is_never_touched(tmp_path):
    # the old write_staged deleted DIR/<unit>/ with everything in it
    (tmp_path / "out" / "gemm").mkdir(parents=True)
    (tmp_path / "out" / "gemm" / "precious.v").write_text("mine")
    called = []
    with pytest.raises(InputError, match=r"out: is not empty and was not made by lutmix"):
        write_staged(tmp_path / "out", "synth", lambda stage: called.append(stage) or {})
    assert not called
    assert listing(tmp_path) == ["out", "out/gemm", "out/gemm/precious.v"]


def test_an_empty_folder_is_taken_and_stamped(tmp_path):
    (tmp_path / "out").mkdir()
    write_staged(tmp_path / "out", "synth", lambda stage: {})
    assert sorted(os.listdir(tmp_path / "out")) == [STAMP, "report.json"]


def test_temporary_files_never_follow_a_planted_link(tmp_path):
    # the old writer used the predictable name .Y.npy.<pid>.tmp.npy
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    for name in (f".Y.npy.{os.getpid()}.tmp.npy", f".Y.npy.{os.getpid()}.tmp"):
        os.symlink(victim, tmp_path / name)
    with Outputs() as out:
        y = out.file(tmp_path / "Y.npy")
        out.save(y, np.ones(2))
    assert victim.read_text() == "untouched"
    assert np.load(tmp_path / "Y.npy").tolist() == [1, 1]


def test_an_output_link_is_replaced_not_written_through(tmp_path):
    target = tmp_path / "elsewhere.npy"
    np.save(target, np.zeros(1))
    os.symlink(target, tmp_path / "Y.npy")
    with Outputs() as out:
        out.save(out.file(tmp_path / "Y.npy"), np.ones(1))
    assert np.load(target).tolist() == [0]
    assert not (tmp_path / "Y.npy").is_symlink() and np.load(tmp_path / "Y.npy").tolist() == [1]


def test_outputs_may_not_be_inputs_or_given_twice(tmp_path):
    w = tmp_path / "W.npy"
    np.save(w, np.zeros(1))
    out = Outputs(inputs=[w, None, "w2a8"])          # presets and absent options are ignored
    with pytest.raises(InputError, match=r"W.npy: is also an input"):
        out.file(w)
    out.file(tmp_path / "Y.npy")
    with pytest.raises(InputError, match=r"Y.npy: given twice as an output"):
        out.file(tmp_path / "Y.npy")
    with pytest.raises(InputError, match=r": holds the input .*W.npy; choose another folder"):
        (tmp_path / STAMP).write_text("")
        out.folder(tmp_path)


def test_undeclared_files_cannot_be_written(tmp_path):
    with pytest.raises(ValueError, match="was not declared"):
        Outputs().save(tmp_path / "Y.npy", np.zeros(1))


def test_atomic_write(tmp_path):
    atomic_write(tmp_path / "a.json", "{}\n")
    atomic_write(tmp_path / "a.json", b"[]\n")
    assert (tmp_path / "a.json").read_text() == "[]\n"
    assert os.listdir(tmp_path) == ["a.json"]
