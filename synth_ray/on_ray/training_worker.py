"""What each Ray Train worker runs: the plain training loop on its own shard, under DDP.

Every worker builds the same trainer (:class:`CTGANTrainer` or :class:`TVAETrainer`, the
code a local fit runs) on the rows of its own shard, wraps the networks in
``DistributedDataParallel`` (``ray.train.torch.prepare_model``; gloo on CPU) and runs
:func:`run_training` one epoch at a time. Gradients are averaged across workers at
every step, so the networks stay identical on all workers.

* Batches: the global batch is ``batch_size`` rows, ``batch_size / workers`` per worker
  (rounded down to a multiple of ``pac`` for CTGAN), and an epoch has as many steps as
  a local fit's (``rows // batch_size``): the same number of updates with the same
  global batch, whatever the number of workers.
* CTGAN's training-by-sampling runs per worker: conditions are drawn by the category
  frequencies of the worker's shard and matched with rows of that shard. The fitted
  model samples conditions by the frequencies of the whole table (summed over shards).
* Randomness: the networks start from the fit seed on every worker (DDP also
  broadcasts rank 0's weights); each worker draws batches, noise and dropout from its
  own stream, derived from the fit seed and its rank.
* Checkpoints: after every epoch every worker reports (rank 0 with the weights and
  optimiser state, each rank with its random state; :mod:`.training_checkpoint`). A
  restarted worker group resumes from ``ray.train.get_checkpoint()``.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import signal
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from synth_ray.errors import ConfigError
from synth_ray.models.neural.conditional_sampler import ConditionSpace
from synth_ray.models.neural.ctgan import CTGAN
from synth_ray.models.neural.ctgan_training import CTGANTrainer
from synth_ray.models.neural.encoding import NetworkEncoding
from synth_ray.models.neural.generator_base import NeuralGenerator, PreparedData
from synth_ray.models.neural.options import CTGANOptions, NeuralOptions, TVAEOptions
from synth_ray.models.neural.runtime import FitSeeds, fitting_runtime
from synth_ray.models.neural.training_loop import LoopSettings, run_training
from synth_ray.models.neural.tvae import TVAE, TVAETrainer
from synth_ray.on_ray.training_checkpoint import (
    Progress,
    read_checkpoint,
    write_checkpoint,
    write_final,
)
from synth_ray.on_ray.training_data import read_shard
from synth_ray.transforms.model_frame import ModelColumn

__all__ = ["KillWorkerDrill", "WorkerPlan", "train_worker", "worker_batch"]

_SEED_MASK = (1 << 63) - 1


@dataclass(frozen=True)
class KillWorkerDrill:
    """A fault drill: worker ``rank`` kills its own process (SIGKILL) before ``epoch``.

    It fires once: ``marker`` is created just before the kill, and a worker that finds
    it goes on. Tests use it to prove that a fit survives a dead worker and resumes from
    the checkpoint of epoch ``epoch`` (the kill waits until that checkpoint is registered).
    """

    rank: int
    epoch: int
    marker: str

    def maybe_fire(self, *, rank: int, epoch: int) -> None:
        """Kill this process if this is the drill's worker and epoch, the first time."""
        marker = Path(self.marker)
        if rank == self.rank and epoch == self.epoch and not marker.exists():
            import ray.train

            # Wait until Ray Train has registered every reported checkpoint, so the drill
            # always resumes from the checkpoint of epoch ``epoch`` (a worker that dies right
            # after reporting can otherwise lose that checkpoint to the failure).
            ray.train.get_all_reported_checkpoints()
            marker.write_text(f"killed worker {rank} (pid {os.getpid()}) before epoch {epoch}\n")
            os.kill(os.getpid(), signal.SIGKILL)


@dataclass(frozen=True)
class WorkerPlan:
    """Everything a worker needs, shipped by Ray in ``train_loop_config``.

    Attributes:
        kind: ``ctgan`` or ``tvae``.
        options: the model's parsed options (the user's global batch size).
        encoding: the network encoding fitted on the statistics sample.
        columns: the model's columns.
        seed: the fit seed.
        total_rows: rows of the whole table.
        threads: torch intra-op threads per worker.
        drill: an optional fault drill.
    """

    kind: str
    options: NeuralOptions
    encoding: NetworkEncoding
    columns: Sequence[ModelColumn]
    seed: int
    total_rows: int
    threads: int
    drill: KillWorkerDrill | None = None


def worker_batch(options: NeuralOptions, workers: int) -> int:
    """Rows per worker and step: the global batch split over the workers.

    Raises:
        ConfigError: the split batch is too small (under 2 rows, or under CTGAN's ``pac``).
    """
    step = options.pac if isinstance(options, CTGANOptions) else 1
    rows = options.batch_size // workers // step * step
    if rows < max(2, step):
        raise ConfigError(
            f"batch_size {options.batch_size} split over {workers} workers leaves {rows} rows per "
            f"worker; use batch_size >= {workers * max(2, step)} or fewer workers")
    return rows


def _worker_seeds(seed: int, rank: int) -> FitSeeds:
    """The fit's seeds, with a training stream of this worker's own."""
    seeds = FitSeeds.from_seed(seed)
    state = np.random.SeedSequence((seeds.train, rank)).generate_state(1, dtype=np.uint64)[0]
    return dataclasses.replace(seeds, train=int(state) & _SEED_MASK)


def _all_reduce(values: torch.Tensor, op: Any, world: int) -> torch.Tensor:
    if world > 1:
        torch.distributed.all_reduce(values, op=op)
    return values


def _global_space(data: PreparedData, options: NeuralOptions, world: int) -> ConditionSpace | None:
    """CTGAN's sampling frequencies over the whole table: each shard's counts, summed."""
    if not isinstance(options, CTGANOptions):
        return None
    layout = data.encoding.layout
    widths = [int(w) for w in layout.softmax_widths[layout.discrete_spans]]
    counts = [np.bincount(data.train.indices[:, span], minlength=w)
              for span, w in zip(layout.discrete_spans, widths, strict=True)]
    local = torch.from_numpy(np.concatenate(counts).astype(np.float64)) if counts else torch.zeros(0)
    flat: np.ndarray = _all_reduce(local, torch.distributed.ReduceOp.SUM, world).numpy()
    bounds = np.cumsum([0, *widths])
    return ConditionSpace([flat[a:b] / max(float(flat[a:b].sum()), 1.0)
                           for a, b in itertools.pairwise(bounds)])


def _wrap(trainer: CTGANTrainer | TVAETrainer, world: int) -> None:
    """Route the gradient steps through DDP wrappers (nothing to wrap with one worker)."""
    if world == 1:
        return
    from ray.train.torch import prepare_model

    def wrap(module: torch.nn.Module) -> torch.nn.Module:
        return prepare_model(module, move_to_device=False, parallel_strategy="ddp")

    if isinstance(trainer, CTGANTrainer):
        trainer.generator_forward = wrap(trainer.generator)
        trainer.critic_forward = wrap(trainer.critic)
    else:
        trainer.encoder_forward = wrap(trainer.encoder)
        trainer.decoder_forward = wrap(trainer.decoder)


def _steps(plan: WorkerPlan, local_rows: int, batch: int, world: int) -> int:
    """Steps per epoch, the same on every worker (a step is a collective)."""
    wanted = max(1, plan.total_rows // plan.options.batch_size)
    local = torch.tensor([min(wanted, max(1, local_rows // batch))], dtype=torch.int64)
    return int(_all_reduce(local, torch.distributed.ReduceOp.MIN, world)[0])


def _resume(trainer: CTGANTrainer | TVAETrainer, rank: int) -> Progress:
    import ray.train

    checkpoint = ray.train.get_checkpoint()
    if checkpoint is None:
        return Progress(start_epochs=[0])
    with checkpoint.as_directory() as directory:
        progress = read_checkpoint(Path(directory), trainer, rank=rank)
    progress.start_epochs.append(progress.epoch)
    return progress


def _report(trainer: CTGANTrainer | TVAETrainer, progress: Progress, rank: int) -> None:
    import ray.train

    with tempfile.TemporaryDirectory(prefix="synth-ray-ckpt-") as directory:
        write_checkpoint(Path(directory), trainer, progress, rank=rank)
        metrics = {"epoch": progress.epoch, **(progress.losses[-1] if progress.losses else {})}
        ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(directory))


def _final_model(trainer: CTGANTrainer | TVAETrainer, data: PreparedData, plan: WorkerPlan,
                 history: Mapping[str, Any], space: ConditionSpace | None) -> NeuralGenerator[Any]:
    options = plan.options
    if isinstance(trainer, CTGANTrainer) and isinstance(options, CTGANOptions):
        return CTGAN.from_trainer(trainer, data, options, history=history, space=space)
    if isinstance(trainer, TVAETrainer) and isinstance(options, TVAEOptions):
        return TVAE(columns=data.columns, options=options, encoding=data.encoding,
                    history=history, decoder=trainer.decoder)
    raise TypeError(f"no {plan.kind} model for a {type(trainer).__name__}")


def _trainer(data: PreparedData, options: NeuralOptions) -> CTGANTrainer | TVAETrainer:
    if isinstance(options, CTGANOptions):
        return CTGANTrainer(data, options)
    if isinstance(options, TVAEOptions):
        return TVAETrainer(data, options)
    raise TypeError(f"no trainer for {type(options).__name__}")


def _replicas_identical(trainer: CTGANTrainer | TVAETrainer, world: int) -> bool:
    """Whether every worker ends with the same weights (DDP keeps them in step)."""
    modules = ((trainer.generator, trainer.critic) if isinstance(trainer, CTGANTrainer)
               else (trainer.encoder, trainer.decoder))
    total = torch.stack([p.detach().double().sum() for m in modules for p in m.parameters()]).sum()
    low = _all_reduce(total.clone().view(1), torch.distributed.ReduceOp.MIN, world)
    high = _all_reduce(total.clone().view(1), torch.distributed.ReduceOp.MAX, world)
    return bool(low.item() == high.item())


def _history(progress: Progress, *, world: int, batch: int, steps: int,
             identical: bool) -> dict[str, Any]:
    return {"epochs_run": len(progress.losses), "best_epoch": len(progress.losses) - 1,
            "stopped_early": False,
            "seconds_per_epoch": float(np.mean(progress.seconds)) if progress.seconds else 0.0,
            "losses": [{k: float(f"{v:.6g}") for k, v in e.items()} for e in progress.losses],
            "validation": [],
            "ray": {"workers": world, "rows_per_worker_step": batch, "steps_per_epoch": steps,
                    "start_epochs": progress.start_epochs, "replicas_identical": identical}}


def _report_final(trainer: CTGANTrainer | TVAETrainer, data: PreparedData, plan: WorkerPlan,
                  progress: Progress, space: ConditionSpace | None, *, rank: int,
                  history: Mapping[str, Any]) -> None:
    import ray.train

    with tempfile.TemporaryDirectory(prefix="synth-ray-final-") as directory:
        checkpoint = None
        if rank == 0:
            model = _final_model(trainer, data, plan, history, space)
            write_final(Path(directory), config=model.config(), tensors=model.tensors())
            checkpoint = ray.train.Checkpoint.from_directory(directory)
        ray.train.report({"epoch": progress.epoch, "final": 1}, checkpoint=checkpoint)


def train_worker(config: Mapping[str, Any]) -> None:
    """``train_loop_per_worker`` of the :class:`~ray.train.torch.TorchTrainer`."""
    import ray.train

    plan: WorkerPlan = config["plan"]
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    layout = plan.encoding.layout
    shard = read_shard(ray.train.get_dataset_shard("train"), n_scalars=layout.tanh_positions.size,
                       n_indices=layout.softmax_offsets.size)
    data = PreparedData(encoding=plan.encoding, train=shard, validation=None,
                        columns=list(plan.columns), seeds=_worker_seeds(plan.seed, rank))
    batch = worker_batch(plan.options, world)
    with fitting_runtime(plan.threads):
        trainer = _trainer(data, dataclasses.replace(plan.options, batch_size=batch))
        progress = _resume(trainer, rank)
        space = _global_space(data, plan.options, world)
        steps = _steps(plan, shard.n_rows, batch, world)
        _wrap(trainer, world)
        for epoch in range(progress.epoch, plan.options.epochs):
            if plan.drill is not None:
                plan.drill.maybe_fire(rank=rank, epoch=epoch)
            started = time.perf_counter()
            epoch_history = run_training(trainer, LoopSettings(epochs=1, steps_per_epoch=steps))
            progress.seconds.append(time.perf_counter() - started)
            progress.losses.extend(epoch_history.losses)
            progress.epoch = epoch + 1
            _report(trainer, progress, rank)
        history = _history(progress, world=world, batch=batch, steps=steps,
                           identical=_replicas_identical(trainer, world))
        _report_final(trainer, data, plan, progress, space, rank=rank, history=history)
