"""Settings of the neural generators: frozen dataclasses that validate on construction.

Unknown keys are refused with the nearest valid one (``epoch`` -> did you mean
``epochs``?), and every value is range-checked with a message that says what to do.
Defaults follow the CTGAN paper (Xu et al., NeurIPS 2019, section 5 and appendix):
batch 500, a 128-wide noise vector, two 256-wide residual layers, two 256-wide critic
layers with PacGAN packing of 10 (Lin et al., 2018), WGAN-GP with lambda 10
(Gulrajani et al., 2017), Adam at 2e-4; TVAE with two 128-wide layers and Adam at 1e-3.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Self

from synth_ray.config_checks import check_keys
from synth_ray.errors import ConfigError

__all__ = ["ACCOUNTANTS", "CTGANOptions", "DPOptions", "NeuralOptions", "TVAEOptions", "default_threads"]

# Privacy accountants of opacus that can calibrate noise to a target epsilon.
ACCOUNTANTS = ("rdp", "prv")

# The machines this runs on are often small and shared; two intra-op threads use a
# second core without oversubscribing when sampling runs chunks in parallel.
_DEFAULT_THREADS = 2


def default_threads() -> int:
    """Torch threads while fitting: 2, or 1 on a one-core machine."""
    return max(1, min(_DEFAULT_THREADS, os.cpu_count() or 1))


def _check_int(name: str, value: Any, *, minimum: int, hint: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        extra = f"; {hint}" if hint else ""
        raise ConfigError(f"option {name!r} must be an integer >= {minimum}, got {value!r}{extra}")


def _check_float(name: str, value: Any, *, minimum: float, maximum: float = math.inf,
                 open_min: bool = False) -> None:
    ok = (not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)
          and (value > minimum if open_min else value >= minimum) and value <= maximum)
    if not ok:
        bound = f"> {minimum}" if open_min else f">= {minimum}"
        upper = f" and <= {maximum}" if math.isfinite(maximum) else ""
        raise ConfigError(f"option {name!r} must be a finite number {bound}{upper}, got {value!r}")


def _check_dims(name: str, value: Any) -> None:
    if (not isinstance(value, tuple) or not value
            or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value)):
        raise ConfigError(f"option {name!r} must be a non-empty list of layer widths >= 1, "
                          f"got {value!r}")


@dataclass(frozen=True, kw_only=True)
class DPOptions:
    """Differentially private training (DP-SGD with opacus): the budget and the clipping.

    Attributes:
        target_epsilon: the privacy budget; the noise is calibrated so that the whole
            fit spends at most this epsilon (``> 0``; 1 to 10 is the usual range).
        delta: the budget's delta; ``None`` (the default) uses ``1 / (10 n)`` for ``n``
            training rows. Must be below ``1 / n`` (a larger delta allows releasing a row).
        max_grad_norm: each per-example gradient (a row for TVAE, a pack of ``pac`` rows
            for CTGAN's critic) is clipped to this L2 norm before noise is added.
        accountant: opacus' accountant that calibrates the noise and reports the
            epsilon spent: ``rdp`` (Renyi DP, the conservative default) or ``prv``
            (privacy random variables, tighter).
        secure_mode: draw the DP randomness (Poisson sampling and noise) from the
            operating system's entropy with opacus' noise hardened against
            floating-point attacks. The fit is then not reproducible. Off by default:
            the DP randomness comes from the fit seed, so the same seed gives the same
            model; keep that seed secret, since it is recorded in the artifact and
            anyone holding it and the other rows could replay the fit.
    """

    target_epsilon: float
    delta: float | None = None
    max_grad_norm: float = 1.0
    accountant: str = "rdp"
    secure_mode: bool = False

    def __post_init__(self) -> None:
        _check_float("dp.target_epsilon", self.target_epsilon, minimum=0.0, open_min=True)
        if self.delta is not None:
            _check_float("dp.delta", self.delta, minimum=0.0, maximum=1.0, open_min=True)
            if self.delta >= 1.0:
                raise ConfigError(f"option 'dp.delta' must be below 1, got {self.delta!r}; leave it "
                                  "unset for 1/(10 n)")
        _check_float("dp.max_grad_norm", self.max_grad_norm, minimum=0.0, open_min=True)
        if self.accountant not in ACCOUNTANTS:
            raise ConfigError(f"option 'dp.accountant' must be one of {list(ACCOUNTANTS)}, "
                              f"got {self.accountant!r}")
        if not isinstance(self.secure_mode, bool):
            raise ConfigError(f"option 'dp.secure_mode' must be true or false, got {self.secure_mode!r}")

    @classmethod
    def parse(cls, value: Any) -> DPOptions | None:
        """``None``, a :class:`DPOptions`, or a mapping of its fields (unknown keys refused)."""
        if value is None or isinstance(value, DPOptions):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"option 'dp' must be a mapping such as {{'target_epsilon': 3.0}}, "
                              f"got {value!r}")
        check_keys(value, allowed=[f.name for f in fields(cls)], where="dp options")
        if "target_epsilon" not in value:
            raise ConfigError("dp options need 'target_epsilon', the privacy budget (e.g. 3.0)")
        return cls(**value)


@dataclass(frozen=True, kw_only=True)
class NeuralOptions:
    """Settings shared by CTGAN and TVAE.

    Attributes:
        epochs: passes over the training rows (>= 1; a model with 0 epochs is untrained).
        batch_size: rows per optimisation step.
        embedding_dim: width of the noise (CTGAN) or latent (TVAE) vector.
        max_modes: at most this many modes per continuous column (mode-specific
            normalization keeps only the modes the data need).
        mode_concentration: Dirichlet concentration of each continuous column's mixture
            weights. Large values split a broad mode into several narrower modes of
            similar weight (up to ``max_modes``), so the tanh head's error moves a value
            less and the mode choice carries more of the shape; small values (1e-3) keep
            the fewest modes the data need. 100 scored higher on diamonds and Wage at 5
            epochs for both models (benchmarks/RESULTS.md).
        max_categories: one-hot width cap: a discrete column keeps its this-many most
            frequent categories; rarer ones share one "other" slot and are sampled back
            by their real frequencies (recorded in the model's config).
        validation_fraction: share of rows held out to score the model during training
            (0 disables validation and early stopping).
        validation_every: score every this many epochs.
        patience: stop after this many validations without improvement (0: never stop
            early, but still keep the best-scoring weights when validating).
        validation_rows: at most this many rows generated and compared per validation.
        threads: torch intra-op threads while fitting (0: 2, or 1 on a one-core machine).
        verbose: show a progress bar per epoch with the losses.
        dp: train with differential privacy (:class:`DPOptions`, or a mapping of its
            fields); ``None`` (the default) trains without.
    """

    epochs: int = 300
    batch_size: int = 500
    embedding_dim: int = 128
    max_modes: int = 10
    mode_concentration: float = 100.0
    max_categories: int = 1000
    validation_fraction: float = 0.0
    validation_every: int = 1
    patience: int = 0
    validation_rows: int = 5000
    threads: int = 0
    verbose: bool = False
    dp: DPOptions | None = None

    def __post_init__(self) -> None:
        _check_int("epochs", self.epochs, minimum=1,
                   hint="a neural model needs at least one epoch of training; use model='copula' "
                        "for a model fitted without training")
        _check_int("batch_size", self.batch_size, minimum=2,
                   hint="batch normalization needs at least 2 rows per batch")
        _check_int("embedding_dim", self.embedding_dim, minimum=1)
        _check_int("max_modes", self.max_modes, minimum=1)
        _check_float("mode_concentration", self.mode_concentration, minimum=0.0, open_min=True)
        _check_int("max_categories", self.max_categories, minimum=2)
        _check_float("validation_fraction", self.validation_fraction, minimum=0.0, maximum=0.5)
        _check_int("validation_every", self.validation_every, minimum=1)
        _check_int("patience", self.patience, minimum=0)
        _check_int("validation_rows", self.validation_rows, minimum=10)
        _check_int("threads", self.threads, minimum=0)
        if not isinstance(self.verbose, bool):
            raise ConfigError(f"option 'verbose' must be true or false, got {self.verbose!r}")
        object.__setattr__(self, "dp", DPOptions.parse(self.dp))
        if self.dp is not None and self.validation_fraction:
            raise ConfigError(
                "option 'validation_fraction' must be 0 with 'dp': choosing the best epoch on "
                "held-out real rows is not covered by the privacy guarantee")

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any], *, model: str) -> Self:
        """Parse user options: unknown keys name the nearest valid one; lists become tuples."""
        check_keys(options, allowed=[f.name for f in fields(cls)], where=f"{model} options")
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                                  for k, v in options.items()}
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @property
    def torch_threads(self) -> int:
        """The thread count to fit with."""
        return self.threads or default_threads()


@dataclass(frozen=True, kw_only=True)
class CTGANOptions(NeuralOptions):
    """CTGAN's settings (Xu et al., 2019, with WGAN-GP and PacGAN).

    Attributes:
        generator_dims: widths of the generator's residual layers.
        discriminator_dims: widths of the critic's hidden layers.
        generator_lr: Adam learning rate of the generator.
        discriminator_lr: Adam learning rate of the critic.
        generator_decay: L2 weight decay of the generator.
        discriminator_decay: L2 weight decay of the critic.
        pac: rows packed into one critic input (PacGAN); divides ``batch_size``.
        discriminator_steps: critic updates per generator update.
        gradient_penalty: WGAN-GP's lambda.
        conditional_loss_weight: weight of the cross-entropy that makes the generator
            honour its conditional vector.
        log_frequency: training-by-sampling draws a category with probability
            proportional to the log of its frequency (the paper's choice) rather than
            to the frequency itself.
        gumbel_tau: temperature of the Gumbel-softmax outputs while training.
    """

    generator_dims: tuple[int, ...] = (256, 256)
    discriminator_dims: tuple[int, ...] = (256, 256)
    generator_lr: float = 2e-4
    discriminator_lr: float = 2e-4
    generator_decay: float = 1e-6
    discriminator_decay: float = 1e-6
    pac: int = 10
    discriminator_steps: int = 1
    gradient_penalty: float = 10.0
    conditional_loss_weight: float = 1.0
    log_frequency: bool = True
    gumbel_tau: float = 0.2

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_dims("generator_dims", self.generator_dims)
        _check_dims("discriminator_dims", self.discriminator_dims)
        for name in ("generator_lr", "discriminator_lr", "gumbel_tau"):
            _check_float(name, getattr(self, name), minimum=0.0, open_min=True)
        for name in ("generator_decay", "discriminator_decay", "gradient_penalty",
                     "conditional_loss_weight"):
            _check_float(name, getattr(self, name), minimum=0.0)
        _check_int("pac", self.pac, minimum=1)
        _check_int("discriminator_steps", self.discriminator_steps, minimum=1)
        if self.batch_size % self.pac:
            raise ConfigError(
                f"option 'batch_size' ({self.batch_size}) must be a multiple of 'pac' ({self.pac}): "
                f"the critic judges packs of {self.pac} rows; try batch_size="
                f"{max(self.pac, self.batch_size // self.pac * self.pac)}")
        if not isinstance(self.log_frequency, bool):
            raise ConfigError(f"option 'log_frequency' must be true or false, got {self.log_frequency!r}")


@dataclass(frozen=True, kw_only=True)
class TVAEOptions(NeuralOptions):
    """TVAE's settings (Xu et al., 2019, section 4.4).

    Attributes:
        encoder_dims: widths of the encoder's hidden layers.
        decoder_dims: widths of the decoder's hidden layers.
        lr: Adam learning rate.
        l2: L2 weight decay.
        reconstruction_weight: weight of the reconstruction term against the KL term
            of the evidence lower bound (1 is the plain ELBO).
        min_sigma: lower bound of the decoder's learned standard deviation of each
            normalized value (keeps the Gaussian likelihood from collapsing).
    """

    embedding_dim: int = 128
    encoder_dims: tuple[int, ...] = (128, 128)
    decoder_dims: tuple[int, ...] = (128, 128)
    lr: float = 1e-3
    l2: float = 1e-5
    reconstruction_weight: float = 2.0
    min_sigma: float = 0.01

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_dims("encoder_dims", self.encoder_dims)
        _check_dims("decoder_dims", self.decoder_dims)
        _check_float("lr", self.lr, minimum=0.0, open_min=True)
        _check_float("l2", self.l2, minimum=0.0)
        _check_float("reconstruction_weight", self.reconstruction_weight, minimum=0.0, open_min=True)
        _check_float("min_sigma", self.min_sigma, minimum=0.0, maximum=1.0, open_min=True)
