"""What a user sees for a wrong names list: each case accepted with a report, or
refused with one line naming the file (and line) and what is wrong; and which list
is read when $MAKEMORE_DATA names a local copy."""

import hashlib

import pytest
import yaml
from click.testing import CliRunner

from conftest import ROOT
from pipeline.names import MAX_NAME_LENGTH
from stages.fetch import fetch
from stages.split import split

NAMES = "\n".join(f"name{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(40)) + "\n"


def run_stage(command, args=()):
    result = CliRunner().invoke(command, list(args))
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), \
        f"a traceback escaped: {result.exception!r}"
    return result


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAKEMORE_DATA", raising=False)

    def with_names(data: bytes, sha256=""):
        (tmp_path / "mine.txt").write_bytes(data)
        params = {"data": {"url": str(tmp_path / "mine.txt"), "sha256": sha256},
                  "split": {"seed": 42, "train": 0.8, "val": 0.1}}
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
        fetched = run_stage(fetch)
        if fetched.exit_code:
            return fetched
        return run_stage(split)
    return with_names


ACCEPTED = [  # (case, file bytes, what the report must say)
    ("CRLF line endings", NAMES.replace("\n", "\r\n").encode(), "40 names"),
    ("surrounding whitespace", ("  anna \n\tbob\n" + NAMES).encode(), "2 names had surrounding"),
    ("blank lines", ("\n\nanna\n\n" + NAMES + "\n").encode(), "4 blank lines skipped"),
    ("uppercase and accents", ("Zoë\nÅsa\n" + NAMES).encode(), "vocabulary of 30 tokens"),
    ("duplicates", ("anna\nanna\nanna\n" + NAMES).encode(), "2 duplicates kept"),
    ("a UTF-8 byte order mark", ("\ufeff" + NAMES).encode(), "40 names (40 distinct"),
    ("names of 64 and of MAX_NAME_LENGTH characters",
     ("a" * 64 + "\n" + "b" * MAX_NAME_LENGTH + "\n" + NAMES).encode(), "42 names"),
]


@pytest.mark.parametrize("case, data, report", ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_accepted_and_reported(project, case, data, report):
    result = project(data)
    assert result.exit_code == 0, result.output
    assert report in result.output


REFUSED = [  # (case, file bytes, the one-line error must contain)
    ("empty file", b"", "mine.txt: no names (empty file)"),
    ("only blank lines", b"\n  \n\r\n", "mine.txt: no names (only blank lines)"),
    ("a name with the reserved '.'", b"anna\nmr.bob\n", "mine.txt:2: name 'mr.bob' contains '.'"),
    ("bytes that are not UTF-8", b"anna\nbj\xf6rn\n", "mine.txt:2: not UTF-8 text (byte 0xf6)"),
    ("binary content", b"anna\x00\x01\x02bob\n", "mine.txt:1: control character U+0000"),
    ("a line longer than MAX_NAME_LENGTH", b"anna\n" + b"x" * 10_000 + b"\nbob\n",
     "mine.txt:2: 10,000 characters, longer than 1,000: is this one name per line?"),
    ("too few names for three splits", b"anna\nbob\n", "names.txt: 2 names are too few"),
]


@pytest.mark.parametrize("case, data, error", REFUSED, ids=[c[0] for c in REFUSED])
def test_refused_with_one_line(project, case, data, error):
    result = project(data)
    assert result.exit_code == 1
    assert error in result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1


def test_checksum_mismatch_shows_both_hashes(project):
    result = project(NAMES.encode(), sha256="0" * 64)
    actual = hashlib.sha256(NAMES.encode()).hexdigest()
    assert result.exit_code == 1
    assert f"expects {'0' * 64}, file has {actual}" in result.stderr


def test_checksum_match_is_accepted(project):
    result = project(NAMES.encode(), sha256=hashlib.sha256(NAMES.encode()).hexdigest())
    assert result.exit_code == 0, result.output


def test_every_bad_line_is_counted_and_the_first_five_named(project, tmp_path):
    lines = [f"name{i}" for i in range(1, 1001)]
    bad = list(range(228, 1000, 2))  # 1-based line numbers of the names with a '.'
    for lineno in bad:
        lines[lineno - 1] = "a. k"
    lines[11] = "z" * 10_000  # line 12: a whole file on one line, say
    result = project(("\n".join(lines) + "\n").encode())
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert (f"mine.txt: {len(bad) + 1} lines refused, the first 5: "
            "line 12 (10,000 characters, longer than 1,000: is this one name per line?), "
            "line 228 (name 'a. k' contains '.', reserved for the start/end of a name), "
            "line 230 (name 'a. k' contains '.', reserved for the start/end of a name), "
            "line 232 (") in result.stderr
    assert "line 234 (" in result.stderr and "line 236" not in result.stderr
    assert result.stderr.rstrip().endswith("; fix them and rerun")
    assert not (tmp_path / "data/raw/names.txt").exists()  # refused before anything is written


def test_a_few_bad_lines_are_all_named(project):
    result = project(("anna\nmr.bob\n" + NAMES + "x\x07y\nbo.b\n").encode())
    assert result.exit_code == 1
    assert ("mine.txt: 3 lines refused: line 2 (name 'mr.bob' contains '.', reserved for the "
            "start/end of a name), line 43 (control character U+0007 in a name: is this a "
            "binary file? expected one name per line), line 44 (name 'bo.b' contains '.',"
            ) in result.stderr


def fetch_with(tmp_path, monkeypatch, url, sha256, local_copy=None):
    """Run the fetch stage with these data params and $MAKEMORE_DATA (None: unset)."""
    monkeypatch.chdir(tmp_path)
    if local_copy is None:
        monkeypatch.delenv("MAKEMORE_DATA", raising=False)
    else:
        monkeypatch.setenv("MAKEMORE_DATA", str(local_copy))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"data": {"url": str(url),
                                                                   "sha256": sha256}}))
    return run_stage(fetch)


def test_own_list_is_read_though_makemore_data_names_the_lecture_list(tmp_path, monkeypatch,
                                                                    names_path):
    mine = tmp_path / "mine.txt"
    mine.write_text(NAMES)
    result = fetch_with(tmp_path, monkeypatch, mine, "", local_copy=names_path)
    assert result.exit_code == 0, result.output
    assert "$MAKEMORE_DATA ignored: data.sha256 is empty" in result.stdout
    assert f"fetched {mine} (named by data.url) -> data/raw/names.txt" in result.stdout
    assert (tmp_path / "data/raw/names.txt").read_text() == NAMES


def test_makemore_data_with_another_checksum_is_ignored(tmp_path, monkeypatch):
    mine, other = tmp_path / "mine.txt", tmp_path / "other.txt"
    mine.write_text(NAMES)
    other.write_text("anna\nbob\n" + NAMES)
    pinned = hashlib.sha256(NAMES.encode()).hexdigest()
    result = fetch_with(tmp_path, monkeypatch, mine, pinned, local_copy=other)
    assert result.exit_code == 0, result.output
    other_sha = hashlib.sha256(other.read_bytes()).hexdigest()
    assert (f"$MAKEMORE_DATA ignored: its checksum {other_sha} differs from data.sha256 "
            f"{pinned}") in result.stdout
    assert f"fetched {mine} (named by data.url)" in result.stdout
    assert (tmp_path / "data/raw/names.txt").read_text() == NAMES


def test_makemore_data_stands_in_for_the_list_its_checksum_pins(tmp_path, monkeypatch):
    copy = tmp_path / "copy.txt"
    copy.write_text(NAMES)
    unreachable = "http://127.0.0.1:9/names.txt"  # never read: the copy stands in
    result = fetch_with(tmp_path, monkeypatch, unreachable,
                        hashlib.sha256(NAMES.encode()).hexdigest(), local_copy=copy)
    assert result.exit_code == 0, result.output
    assert "ignored" not in result.output
    assert f"fetched {copy} (named by $MAKEMORE_DATA" in result.stdout
    assert (tmp_path / "data/raw/names.txt").read_text() == NAMES


def test_default_params_read_the_local_copy_of_the_lecture_list(tmp_path, monkeypatch,
                                                              names_path):
    data = yaml.safe_load((ROOT / "params.yaml").read_text())["data"]  # the lecture's URL
    result = fetch_with(tmp_path, monkeypatch, data["url"], data["sha256"],
                        local_copy=names_path)
    assert result.exit_code == 0, result.output
    assert f"fetched {names_path} (named by $MAKEMORE_DATA" in result.stdout
    assert (tmp_path / "data/raw/names.txt").read_bytes() == names_path.read_bytes()


def test_missing_local_copy_of_a_pinned_list(tmp_path, monkeypatch):
    result = fetch_with(tmp_path, monkeypatch, "x", "0" * 64, local_copy=tmp_path / "nowhere.txt")
    assert result.exit_code == 1
    assert "nowhere.txt: not found (named by $MAKEMORE_DATA)" in result.stderr


def test_missing_own_list(tmp_path, monkeypatch):
    result = fetch_with(tmp_path, monkeypatch, "x", "", local_copy=tmp_path / "nowhere.txt")
    assert result.exit_code == 1
    assert "error: x: not found (named by data.url)" in result.stderr


def test_unreachable_url_says_how_to_work_offline(tmp_path, monkeypatch):
    url = "http://127.0.0.1:9/names.txt"  # the discard port: connection refused at once
    result = fetch_with(tmp_path, monkeypatch, url, "0" * 64)
    assert result.exit_code == 1
    assert f"could not download {url}" in result.stderr
    assert "set MAKEMORE_DATA=/path/to/names.txt, a copy of this list" in result.stderr
    assert not (tmp_path / "data/raw/names.txt").exists()


def test_unreachable_own_list_says_to_point_data_url_at_a_copy(tmp_path, monkeypatch):
    url = "http://127.0.0.1:9/names.txt"
    result = fetch_with(tmp_path, monkeypatch, url, "")
    assert result.exit_code == 1
    assert "to work offline, point data.url at a local copy" in result.stderr
    assert "MAKEMORE_DATA" not in result.stderr  # it cannot stand in for an unpinned list
