import pytest

from pipeline.vocab import Vocabulary


def test_lecture_vocabulary_is_dot_then_a_to_z(lecture_names):
    vocab = Vocabulary.from_names(lecture_names)
    assert len(vocab) == 27
    assert vocab.itos[0] == "."
    assert "".join(vocab.itos[1:]) == "abcdefghijklmnopqrstuvwxyz"
    assert vocab.stoi["a"] == 1 and vocab.stoi["z"] == 26


def test_vocabulary_comes_from_the_data():
    vocab = Vocabulary.from_names(["Zoë", "ana"])
    assert vocab.itos == (".", "Z", "a", "n", "o", "ë")
    assert vocab.decode(vocab.encode("Zoë")) == "Zoë"


def test_json_round_trip():
    vocab = Vocabulary.from_names(["emma", "olivia"])
    assert Vocabulary.from_json(vocab.to_json()) == vocab


@pytest.mark.parametrize("itos", [(), ("a", "."), (".", "a", "a")])
def test_invalid_vocabulary_is_refused(itos):
    with pytest.raises(ValueError):
        Vocabulary(itos)
