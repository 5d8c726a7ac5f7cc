"""The character vocabulary: '.' (index 0, start and end of a name) then the
characters of the data in sorted order; for the makemore list, a..z at 1..26."""

from dataclasses import dataclass

END = "."


@dataclass(frozen=True)
class Vocabulary:
    itos: tuple[str, ...]

    @classmethod
    def from_names(cls, names) -> "Vocabulary":
        return cls((END, *sorted(set("".join(names)))))

    def __post_init__(self):
        if not self.itos or self.itos[0] != END or len(set(self.itos)) != len(self.itos):
            raise ValueError(f"a vocabulary starts with '{END}' and has no repeats: {self.itos}")

    @property
    def stoi(self) -> dict[str, int]:
        return {ch: i for i, ch in enumerate(self.itos)}

    def __len__(self):
        return len(self.itos)

    def encode(self, name: str) -> list[int]:
        stoi = self.stoi
        return [stoi[ch] for ch in name]

    def decode(self, ids) -> str:
        return "".join(self.itos[i] for i in ids)

    def to_json(self) -> dict:
        return {"itos": list(self.itos)}

    @classmethod
    def from_json(cls, obj) -> "Vocabulary":
        return cls(tuple(obj["itos"]))
