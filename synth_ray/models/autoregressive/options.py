"""Settings of the autoregressive generator: a frozen dataclass validated on construction.

Unknown keys are refused with the nearest valid one; every value is range-checked.
The defaults were chosen on ggplot2/diamonds and ISLR/Wage (benchmarks/RESULTS.md):
small enough to fit in about a minute on two cores, large enough to beat the copula.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Self

from synth_ray.config_checks import check_keys
from synth_ray.errors import ConfigError
from synth_ray.models.neural.options import default_threads

__all__ = ["ARGNOptions"]


def _int(name: str, value: Any, minimum: int, maximum: int | None = None) -> None:
    if (isinstance(value, bool) or not isinstance(value, int) or value < minimum
            or (maximum is not None and value > maximum)):
        upper = f" and <= {maximum}" if maximum is not None else ""
        raise ConfigError(f"option {name!r} must be an integer >= {minimum}{upper}, got {value!r}")


def _float(name: str, value: Any, minimum: float, maximum: float, *, open_min: bool = False) -> None:
    ok = (not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)
          and (value > minimum if open_min else value >= minimum) and value <= maximum)
    if not ok:
        low = f"> {minimum}" if open_min else f">= {minimum}"
        raise ConfigError(f"option {name!r} must be a number {low} and <= {maximum}, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class ARGNOptions:
    """How the autoregressive generator encodes, trains and stops.

    Attributes:
        epochs: at most this many passes over the training rows.
        batch_size: rows per step (0: about 1/25 of the rows, between 256 and 2048).
        hidden: width of each token's hidden layer (64: diamonds scores as at 128 and
            samples about 1.3x faster, the heads being most of the sampling work).
        layers: residual hidden layers per token after the first.
        lr: Adam learning rate.
        weight_decay: decoupled weight decay (AdamW).
        dropout: share of hidden units dropped while training.
        coarse_bins: equal-mass bins of a continuous column's first token.
        fine_bins: equal-mass sub-bins of each coarse bin (the second token). 16 x 16
            cells (values are drawn within a cell from the column's own quantile
            function) scored 0.9918 on diamonds against 0.9902 for 32 x 32, and halve
            the heads' and draws' work when sampling.
        max_values: continuous columns with at most this many distinct values get one
            class per value (exact) instead of bins.
        max_categories: a discrete column keeps its this-many most frequent categories
            (the rest share one class and are drawn back by frequency).
        quantile_grid: points of the tabulated quantile function, minus one.
        canonical_share: share of training rows in plain column order (the rest
            condition on a random set of columns first, for conditional sampling).
        validation_fraction: rows held out to score the model and stop early.
        patience: stop after this many epochs without a better validation loss (0: never).
        threads: torch threads while fitting (0: 2, or 1 on a one-core machine).
        verbose: show a progress bar.
    """

    epochs: int = 20
    batch_size: int = 0
    hidden: int = 64
    layers: int = 0
    lr: float = 1e-2
    weight_decay: float = 0.0
    dropout: float = 0.1
    coarse_bins: int = 16
    fine_bins: int = 16
    max_values: int = 32
    max_categories: int = 500
    quantile_grid: int = 8192
    canonical_share: float = 0.5
    validation_fraction: float = 0.1
    patience: int = 3
    threads: int = 0
    verbose: bool = False

    def __post_init__(self) -> None:
        _int("epochs", self.epochs, 1)
        if self.batch_size != 0:
            _int("batch_size", self.batch_size, 2)
        _int("hidden", self.hidden, 1)
        _int("layers", self.layers, 0, 8)
        _float("lr", self.lr, 0.0, 1.0, open_min=True)
        _float("weight_decay", self.weight_decay, 0.0, 1.0)
        _float("dropout", self.dropout, 0.0, 0.9)
        _int("coarse_bins", self.coarse_bins, 2, 1024)
        _int("fine_bins", self.fine_bins, 1, 1024)
        _int("max_values", self.max_values, 1, 10_000)
        _int("max_categories", self.max_categories, 2, 100_000)
        _int("quantile_grid", self.quantile_grid, 16, 1_000_000)
        _float("canonical_share", self.canonical_share, 0.0, 1.0)
        _float("validation_fraction", self.validation_fraction, 0.0, 0.5)
        _int("patience", self.patience, 0)
        _int("threads", self.threads, 0)
        if not isinstance(self.verbose, bool):
            raise ConfigError(f"option 'verbose' must be true or false, got {self.verbose!r}")

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any], *, model: str) -> Self:
        """Parse user options; an unknown key names the nearest valid one."""
        check_keys(options, allowed=[f.name for f in fields(cls)], where=f"{model} options")
        return cls(**dict(options))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings."""
        return asdict(self)

    def rows_per_batch(self, n_rows: int) -> int:
        """The batch size for ``n_rows`` training rows."""
        size = self.batch_size or min(2048, max(256, n_rows // 25))
        return max(1, min(size, n_rows))

    @property
    def torch_threads(self) -> int:
        """Threads to fit with."""
        return self.threads or default_threads()
