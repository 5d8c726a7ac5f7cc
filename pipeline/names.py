"""Reading a names list: one name per line, checked, with what was normalised.

Rules (see README, "Your own names list"):
- accepted and reported: CRLF endings, surrounding whitespace (stripped), blank
  lines (skipped, counted), any letters incl. uppercase and non-ASCII (they become
  vocabulary), duplicates (kept, counted);
- refused: not UTF-8, binary/control characters, the reserved '.' in a name,
  no names at all.
"""

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import PipelineError
from pipeline.vocab import END


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
    names, blank, stripped = [], 0, 0
    for lineno, raw in enumerate(lines, start=1):
        raw = raw.removesuffix("\r")  # CRLF endings
        name = raw.strip()
        if not name:
            blank += 1
            continue
        stripped += name != raw
        _check_name(name, path, lineno)
        names.append(name)
    if not names:
        what = "empty file" if not text else "only blank lines"
        raise PipelineError(f"{path}: no names ({what}); expected one name per line")
    report = NamesReport(names=len(names), blank_lines=blank, stripped=stripped,
                         duplicates=len(names) - len(set(names)))
    return names, report


def _check_name(name: str, path, lineno: int):
    if END in name:
        raise PipelineError(f"{path}:{lineno}: name {name!r} contains '{END}', which is reserved "
                            "for the start/end of a name")
    for ch in name:
        if unicodedata.category(ch)[0] == "C":  # control, format, unassigned, private use
            raise PipelineError(f"{path}:{lineno}: control character U+{ord(ch):04X} in a name; "
                                "is this a binary file? expected one name per line")


def read_names(path) -> tuple[list[str], NamesReport]:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PipelineError(f"{path}: not found (it is made by the fetch stage)")
    return parse_names(data, path)
