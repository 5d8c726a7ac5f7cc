"""Watching a run: every ``train.eval_every`` steps the model is scored on all val
events (eval mode), and the training loss since the last look and the val loss are
logged with DVCLive, so `dvc exp show` shows a running experiment's latest values and
`dvc plots show` its curves. With ``train.keep: best`` the weights of the look with the
lowest val loss are kept. Test is never looked at.

DVCLive writes ``<dir>/metrics.json`` (the latest values, the best step) and
``<dir>/plots/metrics/{train_loss,val_loss}.tsv`` as the run goes: they are progress,
rewritten at every look, and the stage is finished only when DVC records it.
"""

import torch

from pipeline.evaluate import split_loss

ROUND = 6  # decimals: the files repeat byte for byte


class Watch:
    """The trainer's ``look(step, train_loss)`` callback, and the kept weights."""

    def __init__(self, model: torch.nn.Module, val: tuple, live_dir: str, keep: str = "last"):
        from dvclive import Live  # imports DVC's helpers: only runs that watch need it

        self.model, self.val, self.keep = model, val, keep
        self.live = Live(live_dir, dvcyaml=None, save_dvc_exp=False, report=None)
        self.best_loss, self.best_step, self.best_state = float("inf"), None, None

    def __call__(self, step: int, train_loss: float) -> float:
        val_loss = split_loss(self.model, *self.val)
        self.live.step = step
        self.live.log_metric("train_loss", round(train_loss, ROUND))
        self.live.log_metric("val_loss", round(val_loss, ROUND))
        if val_loss < self.best_loss:
            self.best_loss, self.best_step = val_loss, step
            if self.keep == "best":
                self.best_state = {k: v.detach().clone() for k, v in
                                   self.model.state_dict().items()}
        self.live.summary.update(best_step=self.best_step,
                                 best_val_loss=round(self.best_loss, ROUND))
        self.live.make_summary()
        return val_loss

    def finish(self) -> int | None:
        """Load the kept weights (``keep: best``); the step they are from, else None."""
        self.live.end()
        if self.keep != "best" or self.best_state is None:
            return None
        self.model.load_state_dict(self.best_state)
        return self.best_step
