"""Training checkpoints in synth-ray's safe format: safetensors for tensors, JSON for the rest.

A checkpoint directory (one per epoch, reported with ``ray.train.report``) holds::

    progress.json            format, epochs done, per-epoch losses and times, each attempt's
                             first epoch, and the optimisers' hyper-parameters
    weights.safetensors      every network's parameters and buffers, every optimiser's
                             state (Adam's step and moments): identical on all workers
    rank-<r>.safetensors     worker r's random generator state (each worker draws its own
                             batches, noise and dropout)

Workers write their own files into the same reported checkpoint (Ray Train merges
them). Resuming loads all of it, so a restarted fit continues where the last
checkpoint left it, with the same optimiser moments and random streams. Loading
never unpickles: ``safetensors`` and ``json`` only.

The finished model is reported last as ``generator.json`` and ``generator.safetensors``
(the generator's config and arrays, as in a model artifact).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from synth_ray.errors import ArtifactError
from synth_ray.models.neural.ctgan_training import CTGANTrainer
from synth_ray.models.neural.tvae import TVAETrainer

__all__ = ["FINAL_CONFIG", "FINAL_TENSORS", "Progress", "read_checkpoint", "write_checkpoint",
           "write_final"]

FORMAT = "synth-ray-training-checkpoint"
VERSION = 1
PROGRESS = "progress.json"
WEIGHTS = "weights.safetensors"
FINAL_CONFIG = "generator.json"
FINAL_TENSORS = "generator.safetensors"


@dataclass
class Progress:
    """How far a distributed fit got.

    Attributes:
        epoch: epochs completed.
        losses: rank 0's mean losses of each completed epoch.
        seconds: wall time of each completed epoch.
        start_epochs: the epoch each attempt started at (``[0]`` without restarts;
            ``[0, 2]`` when a failed attempt was resumed from the checkpoint of epoch 2).
    """

    epoch: int = 0
    losses: list[dict[str, float]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    start_epochs: list[int] = field(default_factory=list)


def _parts(trainer: CTGANTrainer | TVAETrainer) -> tuple[dict[str, torch.nn.Module],
                                                          dict[str, torch.optim.Optimizer],
                                                          torch.Generator]:
    """The modules, optimisers and random generator that make up a trainer's state."""
    if isinstance(trainer, CTGANTrainer):
        return ({"generator": trainer.generator, "critic": trainer.critic},
                {"generator": trainer.generator_opt, "critic": trainer.critic_opt},
                trainer.generator_rng)
    return ({"encoder": trainer.encoder, "decoder": trainer.decoder},
            {"optimizer": trainer.optimizer}, trainer.rng)


def _rank_file(rank: int) -> str:
    return f"rank-{rank}.safetensors"


def write_checkpoint(directory: Path, trainer: CTGANTrainer | TVAETrainer, progress: Progress, *,
                     rank: int) -> None:
    """Write this worker's part of a checkpoint into ``directory``."""
    modules, optimizers, rng = _parts(trainer)
    save_file({"rng": rng.get_state()}, str(directory / _rank_file(rank)))
    if rank != 0:
        return
    tensors: dict[str, torch.Tensor] = {}
    for name, module in modules.items():
        for key, value in module.state_dict().items():
            tensors[f"module/{name}/{key}"] = value.detach().cpu().contiguous()
    groups = {}
    for name, optimizer in optimizers.items():
        state = optimizer.state_dict()
        for index, slots in state["state"].items():
            for key, value in slots.items():
                tensors[f"optimizer/{name}/{index}/{key}"] = value.detach().cpu().contiguous()
        groups[name] = state["param_groups"]
    save_file(tensors, str(directory / WEIGHTS))
    document = {"format": FORMAT, "version": VERSION, "progress": asdict(progress),
                "param_groups": groups}
    (directory / PROGRESS).write_text(json.dumps(document, indent=1))


def _prefixed(tensors: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k.removeprefix(prefix): v for k, v in tensors.items() if k.startswith(prefix)}


def _load_optimizer(optimizer: torch.optim.Optimizer, tensors: Mapping[str, torch.Tensor],
                    groups: Any, prefix: str) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in _prefixed(tensors, prefix).items():
        index, _, slot = key.partition("/")
        state.setdefault(int(index), {})[slot] = value
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def read_checkpoint(directory: Path, trainer: CTGANTrainer | TVAETrainer, *, rank: int) -> Progress:
    """Load a checkpoint into ``trainer`` (before it is wrapped for DDP); its progress.

    Raises:
        ArtifactError: the checkpoint is not one of synth-ray's or does not fit the trainer.
    """
    try:
        document = json.loads((directory / PROGRESS).read_text())
        if document.get("format") != FORMAT or document.get("version") != VERSION:
            raise ArtifactError(f"{directory} is not a synth-ray training checkpoint of version "
                                f"{VERSION}; start the fit afresh (a new storage path or name)")
        tensors = load_file(str(directory / WEIGHTS))
        modules, optimizers, rng = _parts(trainer)
        for name, module in modules.items():
            module.load_state_dict(_prefixed(tensors, f"module/{name}/"), strict=True)
        for name, optimizer in optimizers.items():
            _load_optimizer(optimizer, tensors, document["param_groups"][name], f"optimizer/{name}/")
        own = directory / _rank_file(rank)
        if own.is_file():  # absent when the fit resumes with more workers than it had
            rng.set_state(load_file(str(own))["rng"])
        return Progress(**document["progress"])
    except ArtifactError:
        raise
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ArtifactError(f"cannot resume from the checkpoint in {directory} "
                            f"({type(exc).__name__}: {exc}); start the fit afresh") from None


def write_final(directory: Path, *, config: Mapping[str, Any],
                tensors: Mapping[str, np.ndarray]) -> None:
    """The fitted generator's config and arrays, as a model artifact stores them."""
    from safetensors.numpy import save_file as save_numpy

    (directory / FINAL_CONFIG).write_text(json.dumps(config, indent=1))
    save_numpy({k: np.ascontiguousarray(v) for k, v in tensors.items()},
               str(directory / FINAL_TENSORS))
