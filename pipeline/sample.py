"""Stage 6: names sampled from a trained model, and how many of them are new.

Start from a context of all dots, sample the next character from the softmax,
shift it in, stop at '.'. All names are generated side by side, one forward pass
per character position, from a seeded generator.
"""

import torch

from pipeline.vocab import Vocabulary


@torch.no_grad()
def sample_names(model: torch.nn.Module, vocab: Vocabulary, block_size: int, count: int,
                 seed: int, max_length: int) -> list[str]:
    """``count`` names of at most ``max_length`` characters (longer ones are cut there)."""
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    context = torch.zeros((count, block_size), dtype=torch.long)  # all dots
    out = torch.zeros((count, max_length), dtype=torch.long)
    finished = torch.zeros(count, dtype=torch.bool)
    for t in range(max_length):
        logits, _ = model(context)
        probs = torch.softmax(logits, dim=-1)
        nxt = torch.multinomial(probs, 1, generator=generator).squeeze(1)  # (count,)
        nxt[finished] = 0
        out[:, t] = nxt
        finished |= nxt == 0
        if finished.all():
            break
        context = torch.cat([context[:, 1:], nxt[:, None]], dim=1)
    return [vocab.decode(row).split(".", 1)[0] for row in out.tolist()]


def sample_report(samples: list[str], train_names, max_length: int) -> dict:
    known = set(train_names)
    n = len(samples)
    return {
        "count": n,
        "novel_share": round(sum(s not in known for s in samples) / n, 6),
        "mean_length": round(sum(map(len, samples)) / n, 6),
        "cut_at_max_length": sum(len(s) >= max_length for s in samples),
    }
