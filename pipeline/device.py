"""Where training and evaluation run: ``train.device``."""

import os

import torch

from pipeline.errors import PipelineError


def resolve_device(name: str) -> torch.device:
    """``train.device``: cpu; cuda (an error where there is no CUDA GPU); or auto (cuda
    where there is one, else cpu)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise PipelineError("params.yaml: train.device is cuda, but torch finds no CUDA GPU "
                            "here; use cpu, or auto (cuda where there is one)")
    if name == "cuda":
        # deterministic cuBLAS (costs little at these sizes) and deterministic kernels where
        # torch has them; scatter-adds (embedding and index_add_ backward) stay atomic on a
        # GPU, so GPU runs repeat only to float rounding (torch warns once about them)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
    return torch.device(name)
