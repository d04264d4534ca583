"""Generator kinds by name: what ``--model`` and artifacts refer to."""

from __future__ import annotations

from synth_ray.config_checks import unknown_name_message
from synth_ray.errors import ConfigError
from synth_ray.models.base import Generator

__all__ = ["MODEL_KINDS", "generator_class"]

MODEL_KINDS = ("copula", "ctgan", "tvae", "argn")


def generator_class(kind: str) -> type[Generator]:
    """The generator class for ``kind``, imported only when asked for."""
    if kind == "copula":
        from synth_ray.models.gaussian_copula import GaussianCopula

        return GaussianCopula
    if kind == "ctgan":
        from synth_ray.models.neural.ctgan import CTGAN

        return CTGAN
    if kind == "tvae":
        from synth_ray.models.neural.tvae import TVAE

        return TVAE
    if kind == "argn":
        from synth_ray.models.autoregressive import ARGN

        return ARGN
    raise ConfigError(unknown_name_message(kind, MODEL_KINDS, what="model"))
