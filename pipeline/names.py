"""Reading a names list: one name per line, checked, with what was normalised.

Rules (see README, "Your own names list"):
- accepted and reported: CRLF endings, surrounding whitespace (stripped), blank
  lines (skipped, counted), any letters incl. uppercase and non-ASCII (they become
  vocabulary), duplicates (kept, counted);
- refused: not UTF-8, binary/control characters, the reserved '.' in a name,
  a line longer than MAX_NAME_LENGTH characters, no names at all. Every refused
  line is found before the list is refused: one error gives their count and the
  first few, by line number.
"""

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import PipelineError
from pipeline.vocab import END

MAX_NAME_LENGTH = 1000  # characters; a longer line is not one name (a whole file on one line?)
SHOWN_REFUSED = 5       # refused lines named in the error, the first ones
SHOWN_NAME = 40         # characters of a refused name quoted in the error


@dataclass(frozen=True)
class NamesReport:
    names: int
    blank_lines: int
    stripped: int
    duplicates: int

    def describe(self, path) -> str:
        return (f"{path}: {self.names} names ({self.names - self.duplicates} distinct, "
                f"{self.duplicates} duplicates kept); {self.blank_lines} blank lines skipped; "
                f"{self.stripped} names had surrounding whitespace stripped")


def parse_names(data: bytes, path) -> tuple[list[str], NamesReport]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise PipelineError(f"{path}:{line}: not UTF-8 text (byte 0x{data[e.start]:02x}); "
                            "save the list as UTF-8")
    if text.startswith("\ufeff"):  # a BOM from some editors: not part of the first name
        text = text[1:]
    lines = text.split("\n")
    if lines[-1] == "":  # the newline that ends the last line opens no new one
        lines.pop()
    names, blank, stripped, refused = [], 0, 0, []
    for lineno, raw in enumerate(lines, start=1):
        raw = raw.removesuffix("\r")  # CRLF endings
        name = raw.strip()
        if not name:
            blank += 1
            continue
        stripped += name != raw
        problem = _problem(name)
        if problem:
            refused.append((lineno, problem))
        else:
            names.append(name)
    if refused:
        raise PipelineError(_refusal(path, refused))
    if not names:
        what = "empty file" if not text else "only blank lines"
        raise PipelineError(f"{path}: no names ({what}); expected one name per line")
    report = NamesReport(names=len(names), blank_lines=blank, stripped=stripped,
                         duplicates=len(names) - len(set(names)))
    return names, report


def _problem(name: str) -> str | None:
    """What is wrong with one (stripped, non-empty) line, or None."""
    if len(name) > MAX_NAME_LENGTH:
        return (f"{len(name):,} characters, longer than {MAX_NAME_LENGTH:,}: "
                "is this one name per line?")
    if END in name:
        return f"name {_quoted(name)} contains '{END}', reserved for the start/end of a name"
    for ch in name:
        if unicodedata.category(ch)[0] == "C":  # control, format, unassigned, private use
            return (f"control character U+{ord(ch):04X} in a name: "
                    "is this a binary file? expected one name per line")
    return None


def _quoted(name: str) -> str:
    return repr(name if len(name) <= SHOWN_NAME else name[:SHOWN_NAME] + "...")


def _refusal(path, refused: list[tuple[int, str]]) -> str:
    """One line for every refused line of a list: the only one, or the count and the first."""
    if len(refused) == 1:
        lineno, problem = refused[0]
        return f"{path}:{lineno}: {problem}"
    shown = ", ".join(f"line {lineno} ({problem})" for lineno, problem in refused[:SHOWN_REFUSED])
    first = f", the first {SHOWN_REFUSED}" if len(refused) > SHOWN_REFUSED else ""
    return f"{path}: {len(refused):,} lines refused{first}: {shown}; fix them and rerun"


def read_names(path) -> tuple[list[str], NamesReport]:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PipelineError(f"{path}: not found (it is made by the fetch stage)")
    return parse_names(data, path)
