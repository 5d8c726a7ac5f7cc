"""The tensors a model reads: windows at its block size, or whole-name sequences.

Both hold the same events (every (context, next character) pair of a split), so
any two models are trained and scored on the same data.
"""

from pipeline.errors import PipelineError
from pipeline.sequences import SEQUENCES_PATH, load_sequences
from pipeline.windows import load_windows, windows_path


def model_data(reads: str, config, section: str = "model"):
    """(split -> (X, Y), vocab) for a model of ``config`` that ``reads`` windows or
    sequences. A sequence model with a limit on positions (transformer, bow) must
    take the longest name whole; ``section``, the model's section of params.yaml,
    names the key where it cannot. Its block_size None (null) takes any."""
    block_size = config.block_size
    if reads == "windows":
        path = windows_path(block_size)
        tensors, vocab, stored = load_windows(path)
        if stored != block_size:
            raise PipelineError(f"{path}: holds block size {stored}, expected {block_size}; "
                                "rerun the windows stage")
        return tensors, vocab
    tensors, vocab = load_sequences(SEQUENCES_PATH)
    width = sequences_width(tensors)
    if config.max_positions is not None and config.max_positions < width:
        raise PipelineError(f"params.yaml: {section}.block_size must be >= {width} for the "
                            f"{config.arch} model (the longest name + 1), got {block_size}; "
                            "null follows the list")
    return tensors, vocab


def sequences_width(tensors: dict) -> int:
    """The width of the sequences' rows (every split shares it): the longest name + 1."""
    return next(iter(tensors.values()))[0].shape[1]
