"""Fitting CTGAN or TVAE with Ray Train: data-parallel, checkpointed, resumable.

:func:`fit_on_ray` runs the pipeline of :func:`synth_ray.synthesizer.fit_synthesizer`
with the heavy parts on Ray:

1. the real table becomes a ``ray.data.Dataset`` (:mod:`.training_data`);
2. metadata, transforms, the table spec's constraints (the code of a local fit,
   :func:`~synth_ray.synthesizer.fit_table_space`) and the network encoding are fitted
   on a bounded uniform sample of it (:mod:`.training_stats`; its size is recorded in
   the artifact as ``training.stats_rows``);
3. Ray Data maps every block to network space (through the constraints' model space);
   the encoded Dataset is materialised in the object store (so a restarted worker group
   reads it again without re-encoding); the reference profile for the quality gate
   takes its statistics from the sample and salted hashes of every row of the table;
4. a ``TorchTrainer`` runs :func:`.training_worker.train_worker` on ``workers`` workers
   (DDP), each on its own shard, checkpointing every epoch and resuming from the last
   checkpoint after a failure (``FailureConfig(max_failures=...)``);
5. the driver loads the fitted generator from the final checkpoint and returns a
   :class:`~synth_ray.synthesizer.Synthesizer`, saved and sampled like any other.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synth_ray.errors import ConfigError, SynthRayError
from synth_ray.on_ray.cluster import ensure_ray
from synth_ray.randomness import check_seed

if TYPE_CHECKING:
    from synth_ray.constraints import ConstraintSet
    from synth_ray.metadata import TableMetadata
    from synth_ray.models.neural.encoding import NetworkEncoding
    from synth_ray.models.neural.options import NeuralOptions
    from synth_ray.on_ray.training_worker import KillWorkerDrill
    from synth_ray.reference_profile import ReferenceProfile
    from synth_ray.synthesizer import Synthesizer
    from synth_ray.table_spec import TableSpec
    from synth_ray.transforms.model_frame import ModelColumn
    from synth_ray.transforms.table_transformer import TableTransformer

__all__ = ["DEFAULT_STATS_ROWS", "RayTrainingError", "fit_on_ray"]

DEFAULT_STATS_ROWS = 100_000
_MODELS = ("ctgan", "tvae")


class RayTrainingError(SynthRayError, RuntimeError):
    """A Ray Train fit failed more often than ``max_failures`` allows."""


def _parse_options(model: str, options: Mapping[str, Any] | None,
                   epochs: int | None) -> NeuralOptions:
    from synth_ray.models.neural.options import CTGANOptions, TVAEOptions

    if model not in _MODELS:
        raise ConfigError(f"fit_on_ray trains the neural models {list(_MODELS)}, got {model!r}; "
                          "fit the copula with synth_ray.fit (it needs no training loop)")
    values = dict(options or {})
    if epochs is not None:
        values["epochs"] = epochs
    cls = CTGANOptions if model == "ctgan" else TVAEOptions
    parsed = cls.from_mapping(values, model=model)
    if parsed.dp is not None:
        raise ConfigError("fit_on_ray does not train with differential privacy yet (option 'dp'); "
                          "fit locally with synth_ray.fit(..., options={'dp': {...}})")
    if parsed.validation_fraction or parsed.patience:
        raise ConfigError("fit_on_ray does not hold out validation rows or stop early yet; "
                          "leave validation_fraction and patience at 0")
    return parsed


def _check_resources(ray: Any, *, workers: int, cpus_per_worker: float, use_gpu: bool) -> None:
    """Refuse a worker group the cluster can never place (Ray would wait forever)."""
    resources = ray.cluster_resources()
    cpus = float(resources.get("CPU", 0.0))
    if workers * cpus_per_worker > cpus:
        raise ConfigError(
            f"{workers} training worker(s) x {cpus_per_worker:g} CPU need "
            f"{workers * cpus_per_worker:g} CPUs but the Ray cluster has {cpus:g}; use at most "
            f"{int(cpus // cpus_per_worker)} workers or fewer CPUs per worker")
    if use_gpu and float(resources.get("GPU", 0.0)) < workers:
        raise ConfigError(f"use_gpu=True needs {workers} GPU(s) (one per worker) but the Ray "
                          f"cluster has {resources.get('GPU', 0):g}; use_gpu=False trains on CPUs")


@dataclass(frozen=True)
class _Prepared:
    """What the driver learns before training: the table's space, encoding and profile."""

    metadata: TableMetadata
    transformer: TableTransformer
    constraints: ConstraintSet
    encoding: NetworkEncoding
    encoded: Any  # the materialised ray.data.Dataset in network space
    reference: ReferenceProfile
    sample_rows: int

    @property
    def columns(self) -> list[ModelColumn]:
        """The columns the generator learns (formula columns are computed instead)."""
        return self.constraints.learned_columns(self.transformer.model_columns)


def _prepare(dataset: Any, *, spec: Any, options: NeuralOptions, seed: int, stats_rows: int,
             total: int) -> _Prepared:
    """Fit what precedes training on the bounded sample, as a local fit does on the table."""
    from synth_ray.models.neural.encoding import NetworkEncoding
    from synth_ray.models.neural.runtime import FitSeeds
    from synth_ray.on_ray.training_data import encode_dataset
    from synth_ray.on_ray.training_stats import reference_profile, sample_table_rows
    from synth_ray.synthesizer import fit_table_space
    from synth_ray.table_spec import load_table_spec

    seeds = FitSeeds.from_seed(seed)
    sample = sample_table_rows(dataset, rows=stats_rows, seed=seeds.split)
    metadata, transformer, constraints = fit_table_space(sample, spec=load_table_spec(spec))
    columns = constraints.learned_columns(transformer.model_columns)
    encoding = NetworkEncoding.fit(constraints.to_model_space(transformer.forward(sample)),
                                   columns=columns, max_modes=options.max_modes,
                                   max_categories=options.max_categories,
                                   mode_concentration=options.mode_concentration,
                                   seed=seeds.encoding)
    encoded = encode_dataset(dataset, transformer=transformer, constraints=constraints,
                             encoding=encoding, seed=seeds.modes).materialize()
    reference = reference_profile(dataset, sample, metadata, rows=total, seed=seed)
    return _Prepared(metadata=metadata, transformer=transformer, constraints=constraints,
                     encoding=encoding, encoded=encoded, reference=reference,
                     sample_rows=sample.num_rows)


def _load_generator(checkpoint: Any, *, model: str, columns: Any) -> Any:
    import json

    from safetensors.numpy import load_file

    from synth_ray.models.registry import generator_class
    from synth_ray.on_ray.training_checkpoint import FINAL_CONFIG, FINAL_TENSORS

    with checkpoint.as_directory() as directory:
        folder = Path(directory)
        if not (folder / FINAL_CONFIG).is_file():
            raise RayTrainingError(f"the fit ended without a fitted model in {folder}")
        config = json.loads((folder / FINAL_CONFIG).read_text())
        tensors = load_file(str(folder / FINAL_TENSORS))
    return generator_class(model).from_state(columns=columns, config=config, tensors=tensors)


def _train(encoded: Any, plan: Any, *, workers: int, use_gpu: bool, cpus_per_worker: float,
           storage: Path, name: str, max_failures: int) -> Any:
    """Run the TorchTrainer; the final checkpoint."""
    import ray.train
    from ray.data import ExecutionOptions
    from ray.train.torch import TorchTrainer

    from synth_ray.on_ray.training_worker import train_worker

    trainer = TorchTrainer(
        train_worker, train_loop_config={"plan": plan},
        scaling_config=ray.train.ScalingConfig(num_workers=workers, use_gpu=use_gpu,
                                               resources_per_worker={"CPU": cpus_per_worker}),
        run_config=ray.train.RunConfig(
            name=name, storage_path=str(storage),
            failure_config=ray.train.FailureConfig(max_failures=max_failures),
            checkpoint_config=ray.train.CheckpointConfig(num_to_keep=2)),
        datasets={"train": encoded},
        # Ordered blocks make the split into shards the same on every run.
        dataset_config=ray.train.DataConfig(execution_options=ExecutionOptions(preserve_order=True)))
    try:
        result = trainer.fit()
    except ray.train.TrainingFailedError as exc:
        raise RayTrainingError(
            f"the Ray Train fit failed more than max_failures={max_failures} time(s): {exc}; its "
            f"checkpoints are in {storage / name}") from None
    if result.checkpoint is None:
        raise RayTrainingError(f"the fit reported no checkpoint (see {storage / name})")
    return result.checkpoint


def fit_on_ray(data: Any, *, model: str = "ctgan", workers: int = 1, use_gpu: bool = False,
               epochs: int | None = None, seed: int = 0, options: Mapping[str, Any] | None = None,
               spec: TableSpec | Mapping[str, Any] | str | Path | None = None,
               stats_rows: int = DEFAULT_STATS_ROWS, storage_path: str | Path | None = None,
               name: str | None = None, max_failures: int = 2, cpus_per_worker: float = 1.0,
               address: str | None = None, drill: KillWorkerDrill | None = None) -> Synthesizer:
    """Fit CTGAN or TVAE with Ray Train on ``workers`` data-parallel workers.

    Args:
        data: the real table: a ``ray.data.Dataset``, a Parquet file or folder (read by Ray
            Data), another table path (CSV, Delta: read on the driver), a pandas DataFrame
            or an Arrow table.
        model: ``ctgan`` or ``tvae``.
        workers: Ray Train workers (one DDP process each, one shard each).
        use_gpu: one GPU per worker (``ScalingConfig(use_gpu=True)``): checked against the
            cluster's GPUs, then refused (the trainers are CPU-only; see the README).
        epochs: passes over the table (overrides ``options["epochs"]``).
        seed: seed of every random choice of the fit.
        options: the model's options (see :class:`~synth_ray.models.neural.options.CTGANOptions`).
        spec: a table spec overriding inferred column kinds; its constraints hold in every
            sampled row, as for a local fit (checked against the statistics sample's rows).
        stats_rows: rows of the uniform sample the metadata and transforms are fitted on.
        storage_path: where checkpoints go (a shared path or URI on a multi-node cluster);
            by default a temporary folder, removed after a successful fit.
        name: the run's name under ``storage_path`` (default: a fresh one).
        max_failures: worker-group failures to recover from, each from the last checkpoint.
        cpus_per_worker: CPUs reserved per worker; torch uses as many threads (unless the
            ``threads`` option says otherwise).
        address: Ray cluster address (default: ``RAY_ADDRESS`` or a local Ray).
        drill: a fault drill for tests (kills one worker once).

    Raises:
        ConfigError: bad options, or more workers than the cluster can place.
        RayTrainingError: the fit failed more than ``max_failures`` times.
    """
    from synth_ray.on_ray.training_data import table_dataset
    from synth_ray.on_ray.training_worker import WorkerPlan, worker_batch
    from synth_ray.synthesizer import Synthesizer, TrainingInfo

    started = time.perf_counter()
    seed = check_seed(seed)
    parsed = _parse_options(model, options, epochs)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be an integer >= 1, got {workers!r}")
    worker_batch(parsed, workers)
    if isinstance(stats_rows, bool) or not isinstance(stats_rows, int) or stats_rows < 2:
        raise ConfigError(f"stats_rows must be an integer >= 2, got {stats_rows!r}")
    ray = ensure_ray(address=address)
    _check_resources(ray, workers=workers, cpus_per_worker=cpus_per_worker, use_gpu=use_gpu)
    if use_gpu:
        raise ConfigError(
            "use_gpu=True: the CTGAN/TVAE trainers build their batches, random generators and span "
            "tables on the CPU, so GPU workers are not supported yet; fit with use_gpu=False")
    dataset = table_dataset(ray, data)
    total = dataset.count()
    prepared = _prepare(dataset, spec=spec, options=parsed, seed=seed, stats_rows=stats_rows,
                        total=total)
    plan = WorkerPlan(kind=model, options=parsed, encoding=prepared.encoding,
                      columns=prepared.columns, seed=seed, total_rows=total,
                      threads=parsed.threads or max(1, int(cpus_per_worker)), drill=drill)
    own_storage = storage_path is None
    storage = Path(tempfile.mkdtemp(prefix="synth-ray-train-")) if own_storage else Path(
        str(storage_path))
    run_name = name or f"{model}-{uuid.uuid4().hex[:8]}"
    checkpoint = _train(prepared.encoded, plan, workers=workers, use_gpu=use_gpu,
                        cpus_per_worker=cpus_per_worker, storage=storage, name=run_name,
                        max_failures=max_failures)
    generator = _load_generator(checkpoint, model=model, columns=prepared.columns)
    if own_storage:
        shutil.rmtree(storage, ignore_errors=True)
    training = TrainingInfo(model=model, seed=seed, rows=total,
                            seconds=time.perf_counter() - started,
                            options=dict(options or {}, **({"epochs": epochs} if epochs else {})),
                            stats_rows=prepared.sample_rows)
    return Synthesizer(metadata=prepared.metadata, transformer=prepared.transformer,
                       generator=generator, constraints=prepared.constraints, training=training,
                       reference=prepared.reference)
