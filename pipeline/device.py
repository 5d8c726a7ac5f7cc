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


def slow_precision_warning(precision: str, device: torch.device) -> str | None:
    """A one-line warning where ``train.matmul_precision`` asks for bfloat16 products
    on a CPU without bfloat16 kernels (AVX2 or older): oneDNN then emulates them, many
    times slower than float32 (docs/performance.md). None where the precision is native
    to ``device``."""
    if precision != "bfloat16" or device.type != "cpu" or _cpu_has_bfloat16_kernels():
        return None
    return ("warning: train.matmul_precision is bfloat16, but this CPU "
            f"({torch.backends.cpu.get_cpu_capability()}) has no bfloat16 matrix "
            "instructions, so its bfloat16 products run emulated, many times slower than "
            "float32; set train.matmul_precision: float32 (docs/performance.md)")


def _cpu_has_bfloat16_kernels() -> bool:
    """torch's test for oneDNN's bfloat16 kernels: AVX512 at least on x86 (AVX512-BF16
    and AMX multiply bfloat16 in hardware), the bfloat16 extension on Arm."""
    return torch.ops.mkldnn._is_mkldnn_bf16_supported()
