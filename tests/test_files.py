import pytest

from pipeline import files


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with files.atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("killed mid-write")
    assert target.read_bytes() == b"old"  # the finished file is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_stale_temporaries_of_a_killed_run_are_cleaned(tmp_path):
    (tmp_path / ".out.bin.tmp-abc123").write_bytes(b"left by kill -9")
    files.write_bytes(tmp_path / "out.bin", b"new")
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]
    assert (tmp_path / "out.bin").read_bytes() == b"new"


def test_json_is_sorted_and_stable(tmp_path):
    files.write_json(tmp_path / "m.json", {"b": 1, "a": 2.5})
    assert (tmp_path / "m.json").read_text() == '{\n  "a": 2.5,\n  "b": 1\n}\n'
