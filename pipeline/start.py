"""What a training run starts from: the checked params, the data the model reads and
a freshly initialised, seeded model. Shared by the train and lr_find stages."""

import sys

from pipeline.data import model_data, sequences_width
from pipeline.device import resolve_device, slow_precision_warning
from pipeline.errors import PipelineError
from pipeline.models import ARCHS, build_model
from pipeline.params import ModelParams, TrainParams, WindowParams, model_section


def fresh_model(params: dict, model: str):
    """(ModelParams, TrainParams, net, data, vocab) for training MODEL. Every params
    check (the device included) runs before any data is read."""
    mp, tp = ModelParams.load(params, model), TrainParams.load(params, model)
    device = resolve_device(tp.device)  # no GPU for train.device cuda: say so before any work
    if warning := slow_precision_warning(tp.matmul_precision, device):
        print(warning, file=sys.stderr)
    reads, section = ARCHS[mp.arch].reads, model_section(params, model)
    sizes = WindowParams.load(params).block_sizes  # no windows are built at other sizes
    if reads == "windows" and mp.block_size not in sizes:
        raise PipelineError(f"params.yaml: {section}.block_size must be one of "
                            f"windows.block_sizes {list(sizes)} for the {mp.arch} model, "
                            f"got {mp.block_size}")
    data, vocab = model_data(reads, mp.config(vocab_size=0), section)
    if mp.block_size is None:  # null: the longest name + 1, recorded in the checkpoint
        mp = mp.resolved(sequences_width(data))
    net = build_model(mp.config(vocab_size=len(vocab)), seed=tp.seed)
    return mp, tp, net, data, vocab
