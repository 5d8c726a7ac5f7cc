"""Part 2's embedding map: a model's character embeddings in two dimensions, and each
character's nearest neighbours in the embedding space.

Two dimensions are the table itself when ``n_embd`` is 2 (the lecture's scatter);
otherwise the table's projection on its two principal axes, by scikit-learn's PCA
with the exact (LAPACK) SVD, so the same weights give the same map every run
(scikit-learn fixes each axis's sign too).
"""

import numpy as np
from sklearn.decomposition import PCA

NEIGHBOURS = 3  # nearest characters listed for each character


def embedding_map(table: np.ndarray) -> tuple[np.ndarray, list[float] | None]:
    """(V, 2) coordinates of a (V, n_embd) embedding table, and the share of the
    variance that each of the two axes explains (None when the table is the map)."""
    if table.shape[1] == 2:
        return table.astype(np.float64), None
    pca = PCA(n_components=min(2, table.shape[1]), svd_solver="full")
    coords = pca.fit_transform(table.astype(np.float64))
    explained = pca.explained_variance_ratio_.tolist()
    if coords.shape[1] == 1:  # n_embd 1: a line, drawn along x
        coords, explained = np.pad(coords, ((0, 0), (0, 1))), explained + [0.0]
    return coords, explained


def nearest_neighbours(table: np.ndarray, k: int = NEIGHBOURS) -> list[list[tuple[int, float]]]:
    """For each row, the ``k`` other rows of highest cosine similarity: (index, cosine),
    most similar first (ties by index)."""
    table = table.astype(np.float64)
    norms = np.linalg.norm(table, axis=1, keepdims=True)
    unit = table / np.where(norms > 0, norms, 1.0)
    cosine = unit @ unit.T
    np.fill_diagonal(cosine, -np.inf)
    order = np.argsort(-cosine, axis=1, kind="stable")[:, :k]
    return [[(int(j), float(cosine[i, j])) for j in row] for i, row in enumerate(order)]


def map_rows(itos, coords: np.ndarray) -> list[dict]:
    """The plot's rows: each character with its x and y (six decimals)."""
    return [{"char": ch, "x": round(float(x), 6), "y": round(float(y), 6)}
            for ch, (x, y) in zip(itos, coords)]


def neighbours_text(itos, neighbours, title: str) -> str:
    """One line a character: ``a: e 0.832, i 0.791, o 0.712``."""
    lines = [f"# {title}"]
    for ch, near in zip(itos, neighbours):
        lines.append(f"{ch}: " + ", ".join(f"{itos[j]} {cos:.3f}" for j, cos in near))
    return "\n".join(lines) + "\n"
