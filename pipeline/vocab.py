"""The character vocabulary: '.' (index 0, start and end of a name) then the
characters of the data in sorted order; for the makemore list, a..z at 1..26."""

from dataclasses import dataclass
from functools import cached_property

import numpy as np

END = "."


def index_dtype(vocab_size: int) -> np.dtype:
    """The smallest signed integer type that holds every index and -1 (no event): the
    stored tensors' type (int8 for the lecture's 27 tokens); models read int64."""
    for dtype in (np.int8, np.int16, np.int32):
        if vocab_size - 1 <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    raise ValueError(f"a vocabulary of {vocab_size:,} tokens is too large")


@dataclass(frozen=True)
class Vocabulary:
    itos: tuple[str, ...]

    @classmethod
    def from_names(cls, names) -> "Vocabulary":
        return cls((END, *sorted(set("".join(names)))))

    def __post_init__(self):
        if not self.itos or self.itos[0] != END or len(set(self.itos)) != len(self.itos):
            raise ValueError(f"a vocabulary starts with '{END}' and has no repeats: {self.itos}")

    @cached_property  # built once: encoding must not cost the vocabulary's size per name
    def stoi(self) -> dict[str, int]:
        return {ch: i for i, ch in enumerate(self.itos)}

    def __len__(self):
        return len(self.itos)

    def encode(self, name: str) -> list[int]:
        stoi = self.stoi
        return [stoi[ch] for ch in name]

    def encode_all(self, names) -> tuple[np.ndarray, np.ndarray]:
        """Every name's indices, concatenated, in the smallest index type, and each name's
        length: one vectorised lookup over all characters (time linear in them)."""
        names = list(names)
        lengths = np.fromiter(map(len, names), dtype=np.int64, count=len(names))
        codes = np.frombuffer("".join(names).encode("utf-32-le"), dtype=np.uint32)
        table = np.array([ord(ch) for ch in self.itos], dtype=np.uint32)
        order = np.argsort(table)
        at = np.minimum(np.searchsorted(table[order], codes), len(table) - 1)
        found = table[order][at] == codes
        if not found.all():
            raise KeyError(chr(codes[np.argmin(found)]))
        return order[at].astype(index_dtype(len(self))), lengths

    def decode(self, ids) -> str:
        return "".join(self.itos[i] for i in ids)

    def to_json(self) -> dict:
        return {"itos": list(self.itos)}

    @classmethod
    def from_json(cls, obj) -> "Vocabulary":
        return cls(tuple(obj["itos"]))
