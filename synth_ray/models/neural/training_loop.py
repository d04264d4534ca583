"""The training loop: epochs of optimisation steps, validation, early stopping, progress.

:func:`run_training` is a plain function over a :class:`Trainable`: it knows nothing of
GANs, VAEs or Ray. Each step draws its own batch (CTGAN by training-by-sampling, TVAE
from a shuffled order), so a distributed run (Ray Train, one worker per shard) calls the
same function on each worker with that worker's data and wrapped networks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

__all__ = ["LoopSettings", "Trainable", "TrainingHistory", "run_training"]


class Trainable(Protocol):
    """What the loop drives."""

    def train_step(self) -> Mapping[str, float]:
        """One optimisation step on one batch; returns the step's losses."""

    def start_epoch(self, epoch: int) -> None:
        """Called before each epoch (e.g. to reshuffle)."""

    def validation_score(self) -> float:
        """A score of the model as it is now, higher is better."""

    def snapshot(self) -> dict[str, torch.Tensor]:
        """A copy of the weights that sampling needs."""

    def restore(self, snapshot: Mapping[str, torch.Tensor]) -> None:
        """Put back weights from :meth:`snapshot`."""


@dataclass(frozen=True)
class LoopSettings:
    """How long to train and when to validate.

    Attributes:
        epochs: maximum number of epochs.
        steps_per_epoch: optimisation steps per epoch.
        validate: whether to score the model (and keep its best weights).
        validate_every: score every this many epochs (and after the last).
        patience: stop after this many validations without improvement (0: never).
        verbose: show a progress bar with the losses.
        description: the progress bar's label.
    """

    epochs: int
    steps_per_epoch: int
    validate: bool = False
    validate_every: int = 1
    patience: int = 0
    verbose: bool = False
    description: str = "training"


@dataclass
class TrainingHistory:
    """What happened while training (kept, JSON-ready, in the model's config).

    Attributes:
        losses: per epoch, the mean of each loss over its steps.
        validation: ``(epoch, score)`` per validation.
        best_epoch: the epoch whose weights were kept (the last one without validation).
        stopped_early: whether patience ran out before ``epochs``.
        seconds: wall time of each epoch (validation excluded).
    """

    losses: list[dict[str, float]] = field(default_factory=list)
    validation: list[tuple[int, float]] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False
    seconds: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (losses rounded to 6 significant digits)."""
        return {"epochs_run": len(self.losses), "best_epoch": self.best_epoch,
                "stopped_early": self.stopped_early,
                "seconds_per_epoch": (sum(self.seconds) / len(self.seconds)) if self.seconds else 0.0,
                "losses": [{k: float(f"{v:.6g}") for k, v in e.items()} for e in self.losses],
                "validation": [[e, float(f"{s:.6g}")] for e, s in self.validation]}


def _progress(settings: LoopSettings) -> tuple[Callable[[dict[str, float]], None], Callable[[], None]]:
    """``(update, close)`` of a tqdm bar per epoch, or no-ops when not verbose."""
    if not settings.verbose:
        return (lambda _: None), (lambda: None)
    from tqdm.auto import tqdm

    bar = tqdm(total=settings.epochs, desc=settings.description, unit="epoch")

    def update(values: dict[str, float]) -> None:
        bar.set_postfix({k: f"{v:.4g}" for k, v in values.items()}, refresh=False)
        bar.update(1)

    return update, bar.close


def _run_epoch(trainable: Trainable, steps: int) -> dict[str, float]:
    totals: dict[str, float] = {}
    for _ in range(steps):
        for key, value in trainable.train_step().items():
            totals[key] = totals.get(key, 0.0) + value
    return {key: value / steps for key, value in totals.items()}


def run_training(trainable: Trainable, settings: LoopSettings) -> TrainingHistory:
    """Train for ``settings.epochs`` epochs or until patience runs out.

    With validation on, the weights of the best-scoring validation are restored at the
    end, so the model returned is the best one seen, not merely the last.
    """
    history = TrainingHistory()
    best_score, best_weights, best_epoch, waited = -float("inf"), None, 0, 0
    update, close = _progress(settings)
    try:
        for epoch in range(settings.epochs):
            trainable.start_epoch(epoch)
            started = time.perf_counter()
            losses = _run_epoch(trainable, settings.steps_per_epoch)
            history.seconds.append(time.perf_counter() - started)
            history.losses.append(losses)
            history.best_epoch = epoch
            shown = dict(losses)
            last = epoch == settings.epochs - 1
            if settings.validate and ((epoch + 1) % settings.validate_every == 0 or last):
                score = trainable.validation_score()
                history.validation.append((epoch, score))
                shown["validation"] = score
                if score > best_score:
                    best_score, best_weights, best_epoch, waited = (
                        score, trainable.snapshot(), epoch, 0)
                else:
                    waited += 1
            update(shown)
            if settings.patience and waited >= settings.patience:
                history.stopped_early = not last
                break
    finally:
        close()
    if best_weights is not None:
        trainable.restore(best_weights)
        history.best_epoch = best_epoch
    return history
