"""``evaluate``: every metric of a synthetic table against the real one, in one typed result.

Example:
    >>> import synth_ray
    >>> result = synth_ray.evaluate(train, fake, model.metadata,        # doctest: +SKIP
    ...                             holdout=test, target="price")
    >>> result.verdict, result.quality.score                            # doctest: +SKIP
    >>> result.to_json("metrics.json")                                  # doctest: +SKIP

The steps, each in its own module: check and sample the tables (:mod:`inputs`), encode
the learned columns (:mod:`encoding`), then fidelity (:mod:`quality`,
:mod:`column_stats`), diversity, privacy, detection and utility, and finally the
verdicts (:mod:`verdicts`).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from synth_ray.errors import ConfigError, DataError, SchemaError
from synth_ray.evaluation.column_stats import ColumnReport, column_reports, fidelity_checks
from synth_ray.evaluation.detection import DetectionResult, detection_auc, detection_checks
from synth_ray.evaluation.diversity import DiversityResult, diversity, diversity_checks
from synth_ray.evaluation.encoding import CONTINUOUS_KINDS, DISCRETE_KINDS, EncodedColumn
from synth_ray.evaluation.inputs import Samples, SamplingInfo
from synth_ray.evaluation.privacy import PrivacyResult, measure_privacy, privacy_checks
from synth_ray.evaluation.quality import QualityScore
from synth_ray.evaluation.settings import EvaluationSettings, rng_for
from synth_ray.evaluation.utility import UtilityResult, utility_checks, utility_scores
from synth_ray.evaluation.verdicts import Check, Verdict, worst
from synth_ray.metadata import ColumnKind, TableMetadata
from synth_ray.table_input import TableLike

__all__ = ["EvaluationResult", "evaluate"]

FORMAT = "synth-ray-evaluation"
FORMAT_VERSION = 1
SECTIONS = ("fidelity", "detection", "utility", "privacy", "diversity")


@dataclasses.dataclass(frozen=True)
class EvaluationResult:
    """Everything :func:`evaluate` measured, and its verdicts.

    Attributes:
        quality: the SDMetrics-defined quality score with per-column and per-pair details.
        columns: per-column fidelity details and distributions.
        diversity: coverage and duplicates.
        privacy: exact matches (always) and distances to closest records (with a holdout).
        detection: real-vs-synthetic classifier AUC (``None`` with fewer than 20 rows).
        utility: TSTR vs TRTR (``None`` without a target).
        checks: every verdict, in report order.
        sampling: which rows were looked at, and the seed.
        settings: the sample sizes and seed asked for.
        skipped: columns not compared, and why.
        notes: metrics not run, and why.
        seconds: wall time of the evaluation.
        synth_ray_version: the version that computed it.
    """

    quality: QualityScore
    columns: tuple[ColumnReport, ...]
    diversity: DiversityResult
    privacy: PrivacyResult
    detection: DetectionResult | None
    utility: UtilityResult | None
    checks: tuple[Check, ...]
    sampling: SamplingInfo
    settings: EvaluationSettings
    skipped: dict[str, str]
    notes: tuple[str, ...]
    seconds: float
    synth_ray_version: str

    @property
    def verdict(self) -> Verdict:
        """The worst verdict of all checks: the one line a pipeline gates on."""
        return worst([c.verdict for c in self.checks]) or Verdict.PASS

    def section_verdicts(self) -> dict[str, Verdict]:
        """The worst verdict of each section that has checks."""
        out = {}
        for section in SECTIONS:
            verdict = worst([c.verdict for c in self.checks if c.section == section])
            if verdict is not None:
                out[section] = verdict
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN becomes null), with the overall and section verdicts first."""
        body = {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}
        return {"format": FORMAT, "format_version": FORMAT_VERSION,
                "verdict": self.verdict.value,
                "sections": {k: v.value for k, v in self.section_verdicts().items()}, **body}

    def to_json(self, path: str | Path | None = None) -> str:
        """The result as JSON text; also written to ``path`` when one is given."""
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False, ensure_ascii=False)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text


def _jsonable(value: Any) -> Any:
    """Dataclasses, enums, tuples, numpy numbers as plain JSON values (NaN and inf -> null)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _check_target(target: str | None, metadata: TableMetadata, has_holdout: bool) -> None:
    if target is None:
        return
    if target not in metadata.names:
        from synth_ray.config_checks import unknown_name_message

        raise SchemaError("target: " + unknown_name_message(target, metadata.names, what="column"))
    kind = metadata[target].kind
    if kind not in CONTINUOUS_KINDS | DISCRETE_KINDS or kind is ColumnKind.DATETIME:
        raise ConfigError(
            f"target column {target!r} is a {kind.value} column: utility predicts a numerical, "
            "categorical or boolean column; pick one of those")
    if sum(c.learned for c in metadata) < 2:
        raise ConfigError(f"target {target!r} is the only learned column: there is nothing to "
                          "predict it from; evaluate without a target")
    if not has_holdout:
        raise ConfigError(
            f"target {target!r} needs a holdout: real rows the generator never saw, to test both "
            "models on (pass holdout=..., or --holdout on the command line), or drop the target")


def _check_target_values(columns: list[EncodedColumn], target: str | None) -> None:
    column = next((c for c in columns if c.name == target), None)
    if column is None:
        return
    values = column.real[column.present(column.real)]
    if len(values) == 0:
        raise DataError(f"target column {target!r} is all null in the real table: there is "
                        "nothing to predict; pick another column")
    distinct = np.unique(values)
    if len(distinct) < 2:
        shown = distinct[0] if column.continuous else column.categories[int(distinct[0])]
        raise DataError(f"target column {target!r} has a single value ({shown}) in the real "
                        "table: there is nothing to predict; pick a column that varies")


def _skipped(metadata: TableMetadata, columns: list[EncodedColumn]) -> dict[str, str]:
    out = {}
    for col in metadata:
        if col.kind is ColumnKind.ID:
            out[col.name] = "id column: regenerated from the row index, never learned"
        elif col.kind is ColumnKind.PII:
            out[col.name] = f"pii ({col.pii_type}): replaced by fake values, never learned"
    for c in columns:
        if not c.present(c.real).any() and not c.present(c.synthetic).any():
            out[c.name] = "all null in both tables: only its null rate is compared"
    return out


def _prepare(real: TableLike, synthetic: TableLike, metadata: TableMetadata | None, *,
             holdout: TableLike | None, target: str | None,
             settings: EvaluationSettings) -> tuple[pa.Table, TableMetadata, Samples, list[EncodedColumn]]:
    from synth_ray.evaluation.encoding import encode_columns
    from synth_ray.evaluation.inputs import check_not_empty, check_tables, draw_samples
    from synth_ray.table_input import to_arrow

    real_t, synth_t = to_arrow(real), to_arrow(synthetic)
    holdout_t = None if holdout is None else to_arrow(holdout)
    check_not_empty(real_t, synth_t, holdout_t)
    if metadata is None:
        from synth_ray.metadata_inference import infer_metadata

        metadata = infer_metadata(real_t)
    check_tables(real_t, synth_t, holdout_t, metadata)
    _check_target(target, metadata, holdout_t is not None)
    samples = draw_samples(real_t, synth_t, holdout_t, metadata=metadata,
                           rows=settings.fidelity_rows, seed=settings.seed)
    columns = encode_columns(samples, metadata)
    if not columns:
        raise DataError("no column can be compared: every column is an id or pii column, which "
                        "synth-ray regenerates instead of learning; there is nothing to evaluate")
    _check_target_values(columns, target)
    return real_t, metadata, samples, columns


class _Progress:
    """A progress bar with one step per stage, showing the stage that runs."""

    def __init__(self, *, enabled: bool, stages: int) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=stages, disable=not enabled, unit="step", desc="evaluating",
                         bar_format="{desc:<22}|{bar}| {n}/{total} [{elapsed}]")
        self._running = False

    def stage(self, label: str) -> None:
        """Finish the running stage and start ``label``."""
        if self._running:
            self._bar.update(1)
        self._bar.set_description_str(label)
        self._running = True

    def close(self) -> None:
        """Finish the last stage."""
        if self._running:
            self._bar.update(1)
        self._bar.close()


def _fidelity(columns: list[EncodedColumn], samples: Samples, metadata: TableMetadata,
              settings: EvaluationSettings) -> tuple[QualityScore, tuple[ColumnReport, ...]]:
    from synth_ray.evaluation.pair_trends import select_pairs
    from synth_ray.evaluation.quality import sampling_error, score_fidelity

    pairs = select_pairs([c.name for c in columns], max_pairs=settings.max_pairs,
                         rng=rng_for(settings.seed, "pairs"))
    quality = score_fidelity(columns, pairs)
    info = samples.info
    error = sampling_error(columns, pairs, score=quality.score,
                           split_real=info.real_sampled < info.real_rows,
                           split_synthetic=info.synthetic_sampled < info.synthetic_rows,
                           replicates=settings.replicates)
    quality = dataclasses.replace(quality, standard_error=error)
    return quality, column_reports(columns, quality.columns, metadata)


def _notes(samples: Samples, target: str | None, detection: DetectionResult | None,
           utility: UtilityResult | None) -> tuple[str, ...]:
    notes = []
    if samples.holdout is None:
        notes.append("privacy: distances to closest records and the privacy verdicts need a "
                     "holdout (real rows the generator never saw); only exact copies were counted")
    if detection is None:
        notes.append("detection: not run, a table has fewer than 20 rows")
    if target is None:
        notes.append("utility: not run, no target column was given")
    elif utility is None:
        notes.append(f"utility: not run, the synthetic or holdout sample has no value of {target!r}")
    return tuple(notes)


def _as_settings(settings: EvaluationSettings | Mapping[str, Any] | None) -> EvaluationSettings:
    if settings is None:
        return EvaluationSettings()
    if isinstance(settings, EvaluationSettings):
        return settings
    return EvaluationSettings.from_mapping(settings)


def _thread_limit(threads: int) -> Any:
    """A context that caps OpenMP and BLAS threads of scikit-learn and numpy.

    scikit-learn is imported first: threadpoolctl only limits the thread pools of
    libraries already loaded, and its OpenMP runtime loads with it.
    """
    import sklearn.ensemble
    import sklearn.neighbors  # noqa: F401 - loaded for the limit, as above
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads)


@dataclasses.dataclass(frozen=True)
class _Parts:
    """What the stages of an evaluation produced, before the verdicts."""

    metadata: TableMetadata
    samples: Samples
    columns: list[EncodedColumn]
    quality: QualityScore
    reports: tuple[ColumnReport, ...]
    diversity: DiversityResult
    privacy: PrivacyResult
    detection: DetectionResult | None
    utility: UtilityResult | None


def _run(real: TableLike, synthetic: TableLike, metadata: TableMetadata | None, *,
         holdout: TableLike | None, target: str | None, settings: EvaluationSettings,
         bar: _Progress) -> _Parts:
    bar.stage("sampling")
    training, metadata, samples, columns = _prepare(real, synthetic, metadata, holdout=holdout,
                                                    target=target, settings=settings)
    bar.stage("fidelity")
    quality, reports = _fidelity(columns, samples, metadata, settings)
    bar.stage("diversity")
    div = diversity(reports, samples.real, samples.synthetic)
    bar.stage("privacy")
    privacy = measure_privacy(training, samples, columns, rows=settings.privacy_rows)
    bar.stage("detection")
    detection = detection_auc(columns, rows=settings.detection_rows, folds=settings.detection_folds,
                              rng=rng_for(settings.seed, "detection"))
    utility = None
    if target is not None:
        bar.stage("utility")
        utility = utility_scores(columns, target=target, rows=settings.utility_rows,
                                 rng=rng_for(settings.seed, "utility"))
    return _Parts(metadata=metadata, samples=samples, columns=columns, quality=quality,
                  reports=reports, diversity=div, privacy=privacy, detection=detection,
                  utility=utility)


def evaluate(real: TableLike, synthetic: TableLike, metadata: TableMetadata | None = None, *,
             holdout: TableLike | None = None, target: str | None = None,
             settings: EvaluationSettings | Mapping[str, Any] | None = None,
             progress: bool = False) -> EvaluationResult:
    """Fidelity, detection, utility, privacy and diversity of ``synthetic`` against ``real``.

    Args:
        real: the real table the generator was fitted on (pandas or Arrow).
        synthetic: the synthetic table, with the same columns.
        metadata: the real table's metadata (``model.metadata``); inferred from ``real``
            when omitted. It says which columns are learned and how each is compared.
        holdout: real rows the generator never saw: needed for the privacy verdicts and
            for utility (both models are tested on it).
        target: a numerical, categorical or boolean column to predict for utility.
        settings: sample sizes and seed (:class:`EvaluationSettings` or a dict of its fields).
        progress: show a progress bar on stderr.

    Raises:
        SchemaError: the tables have different columns or incompatible types, or the
            target is not a column.
        DataError: a table is empty, or the target is constant or all null.
        ConfigError: a target without a holdout, a target of the wrong kind, or bad settings.
    """
    from synth_ray._version import __version__

    started = time.perf_counter()
    settings = _as_settings(settings)
    bar = _Progress(enabled=progress, stages=6 if target else 5)
    try:
        with _thread_limit(settings.threads):
            p = _run(real, synthetic, metadata, holdout=holdout, target=target, settings=settings,
                     bar=bar)
    finally:
        bar.close()
    checks = (*fidelity_checks(p.quality, p.reports), *detection_checks(p.detection),
              *utility_checks(p.utility), *privacy_checks(p.privacy), *diversity_checks(p.diversity))
    return EvaluationResult(
        quality=p.quality, columns=p.reports, diversity=p.diversity, privacy=p.privacy,
        detection=p.detection, utility=p.utility, checks=checks, sampling=p.samples.info,
        settings=settings, skipped=_skipped(p.metadata, p.columns),
        notes=_notes(p.samples, target, p.detection, p.utility),
        seconds=time.perf_counter() - started, synth_ray_version=__version__)
