"""Differentially private training: DP-SGD (Abadi et al., 2016) with opacus.

What a DP fit does differently from a plain one, step by step:

1. **Poisson sampling.** Each step takes every privacy unit (a training row; for CTGAN's
   critic a pack of ``pac`` rows) independently with probability ``q`` (opacus'
   :class:`~opacus.utils.uniform_sampler.UniformWithReplacementSampler`, the sampler of its
   ``DPDataLoader``), so batches have a random size whose mean is the batch size. This is
   the sampling the accountant's amplification bound assumes.
2. **Per-example gradients** of the unit's whole loss, computed with ``torch.func``
   (``vmap`` over ``grad`` of a functional call of the networks). Unlike opacus' hooks,
   this covers parameters outside linear layers (TVAE's learned ``sigma``) and nested
   gradients (CTGAN's gradient penalty: see :mod:`.ctgan_private`).
3. **Clipping and noise** by opacus' :class:`~opacus.optimizers.DPOptimizer`: each
   example's gradient is clipped to ``max_grad_norm``, the clipped sum gets Gaussian noise
   of standard deviation ``noise_multiplier * max_grad_norm``, drawn from a seeded
   :class:`torch.Generator`, and the result is divided by the expected batch size.
4. **Accounting** by opacus' accountant (RDP or PRV), one entry per noisy step; the noise
   multiplier is calibrated before training (``get_noise_multiplier``) so that the whole
   fit spends at most the target epsilon.

The guarantee's unit: for TVAE and for CTGAN with ``pac=1``, (epsilon, delta)-DP for
adding or removing one training row. For CTGAN with ``pac > 1`` the training rows are cut
once into fixed packs (a seeded permutation) and the accountant's unit is a pack;
replacing one row changes exactly one pack, which is two pack-level add/remove steps, so
by group privacy a row gets ``(2 eps_pack, (1 + exp(eps_pack)) delta_pack)``: the noise is
calibrated, and the spent budget reported, at that row level.

opacus is imported only here and only when a DP fit starts (extra ``privacy``).
"""

from __future__ import annotations

import math
import secrets
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from synth_ray.errors import ConfigError, DataError, MissingExtraError
from synth_ray.models.neural.options import DPOptions
from synth_ray.models.neural.runtime import torch_generator

__all__ = ["RDP_ORDERS", "DPTrainingStep", "PrivacyPlan", "per_example_gradients", "plan_privacy"]

# A salt for the DP randomness stream, so it is independent of the fit's other streams.
_STREAM = 0x44505F534744  # "DP_SGD"
# Renyi orders of the RDP accountant: opacus' defaults (1.1 to 63) and larger ones, which
# give the tightest bound for short fits with a large budget (few steps, epsilon of 2 or more).
RDP_ORDERS = ([1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))
              + [80, 96, 128, 192, 256, 384, 512])


def _accountant_options(accountant: str) -> dict[str, Any]:
    return {"alphas": RDP_ORDERS} if accountant == "rdp" else {}


@contextmanager
def _quiet_orders() -> Iterator[None]:
    """Silence opacus' note that larger Renyi orders could tighten a bound (PRV's tail bounds)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Optimal order is the largest alpha")
        yield


def _opacus() -> Any:
    """The opacus package, or an error naming the extra to install."""
    try:
        import opacus
        import opacus.accountants
        import opacus.accountants.utils
        import opacus.optimizers
        import opacus.utils.uniform_sampler
    except ImportError as exc:  # pragma: no cover - exercised with the extra missing
        raise MissingExtraError(package="opacus", extra="privacy",
                                feature="differentially private training (option 'dp')") from exc
    return opacus


@dataclass(frozen=True)
class PrivacyPlan:
    """The calibrated DP-SGD settings of one fit (recorded in the model).

    Attributes:
        target_epsilon: the budget asked for.
        delta: the row-level delta the guarantee holds at.
        max_grad_norm: clipping bound of each unit's gradient.
        noise_multiplier: noise standard deviation over ``max_grad_norm``.
        sample_rate: probability that a unit is in a step's batch (Poisson sampling).
        steps: noisy optimisation steps the fit takes.
        units: privacy units in the training data (rows, or packs of ``pac`` rows).
        unit_rows: rows per unit (1, or CTGAN's ``pac``).
        accountant: opacus accountant used (``rdp`` or ``prv``).
        secure_mode: DP randomness from OS entropy with hardened noise.
        group: 1 when a unit is a row; 2 when a row's change is two unit changes.
        unit_delta: the delta the accountant is asked about at the unit level.
    """

    target_epsilon: float
    delta: float
    max_grad_norm: float
    noise_multiplier: float
    sample_rate: float
    steps: int
    units: int
    unit_rows: int
    accountant: str
    secure_mode: bool
    group: int
    unit_delta: float

    @property
    def expected_batch(self) -> float:
        """Mean units per step (what the noisy sum is divided by)."""
        return self.sample_rate * self.units

    def row_guarantee(self, unit_epsilon: float) -> tuple[float, float]:
        """Row-level ``(epsilon, delta)`` from the accountant's unit-level epsilon."""
        if self.group == 1:
            return unit_epsilon, self.unit_delta
        return 2.0 * unit_epsilon, (1.0 + math.exp(unit_epsilon)) * self.unit_delta


def _default_delta(rows: int) -> float:
    return 1.0 / (10.0 * rows)


def plan_privacy(dp: DPOptions, *, rows: int, unit_rows: int, batch_rows: int,
                 steps: int) -> PrivacyPlan:
    """Calibrate the noise so that ``steps`` Poisson-sampled steps spend at most the budget.

    Args:
        dp: the user's DP options.
        rows: training rows.
        unit_rows: rows per privacy unit (CTGAN's ``pac``, else 1).
        batch_rows: the mean rows per step (the batch size).
        steps: noisy steps the fit will take.
    """
    units = rows // unit_rows
    if units < 2:
        raise DataError(f"a differentially private fit needs at least {2 * unit_rows} training rows "
                        f"({unit_rows} per privacy unit), got {rows}")
    delta = dp.delta if dp.delta is not None else _default_delta(rows)
    if delta >= 1.0 / rows:
        raise ConfigError(f"option 'dp.delta' ({delta:g}) must be below 1/n = {1.0 / rows:g} for the "
                          f"{rows} training rows (a larger delta allows releasing a whole row); leave "
                          "it unset for 1/(10 n)")
    group = 1 if unit_rows == 1 else 2
    unit_epsilon = dp.target_epsilon / group
    unit_delta = delta if group == 1 else delta / (1.0 + math.exp(unit_epsilon))
    sample_rate = min(1.0, batch_rows / unit_rows / units)
    opacus = _opacus()
    try:
        with _quiet_orders():
            sigma = opacus.accountants.utils.get_noise_multiplier(
                target_epsilon=unit_epsilon, target_delta=unit_delta, sample_rate=sample_rate,
                steps=steps, accountant=dp.accountant, epsilon_tolerance=0.01,
                **_accountant_options(dp.accountant))
    except ValueError as exc:
        raise ConfigError(f"option 'dp.target_epsilon' ({dp.target_epsilon:g}) cannot be met in "
                          f"{steps} steps at sample rate {sample_rate:.4g}: {exc}; raise it, or train "
                          "fewer epochs or with smaller batches") from exc
    return PrivacyPlan(target_epsilon=float(dp.target_epsilon), delta=float(delta),
                       max_grad_norm=float(dp.max_grad_norm), noise_multiplier=float(sigma),
                       sample_rate=float(sample_rate), steps=int(steps), units=int(units),
                       unit_rows=int(unit_rows), accountant=dp.accountant,
                       secure_mode=dp.secure_mode, group=group, unit_delta=float(unit_delta))


def _dp_generators(seed: int, secure: bool) -> tuple[torch.Generator, torch.Generator]:
    """``(sampling, noise)`` generators: from the fit seed, or from OS entropy in secure mode."""
    if secure:
        return torch_generator(secrets.randbits(63)), torch_generator(secrets.randbits(63))
    states = np.random.SeedSequence((seed, _STREAM)).generate_state(2, dtype=np.uint64)
    return torch_generator(int(states[0])), torch_generator(int(states[1]))


def per_example_gradients(module: nn.Module, loss: Callable[..., torch.Tensor],
                          *inputs: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Each example's gradient of ``loss`` for every trainable parameter of ``module``.

    ``loss(params, *example)`` gets the parameters by name and one example (the inputs'
    slices along their first axis) and calls the networks through
    :func:`torch.func.functional_call`. Returns ``(name -> (examples, *shape), losses)``.
    """
    params = {k: v.detach() for k, v in module.named_parameters() if v.requires_grad}
    if inputs[0].shape[0] == 0:
        return {k: v.new_zeros((0, *v.shape)) for k, v in params.items()}, torch.zeros(0)
    dims = (None, *([0] * len(inputs)))
    grads, losses = torch.func.vmap(torch.func.grad_and_value(loss), in_dims=dims)(params, *inputs)
    return grads, losses.detach()


class DPTrainingStep:
    """Poisson batches, clipped and noised steps, and the accountant of one DP fit.

    Args:
        plan: the calibrated settings.
        module: the networks whose parameters ``optimizer`` updates (one module).
        optimizer: the plain optimizer; wrapped in opacus' ``DPOptimizer``.
        seed: the fit's training seed (ignored in secure mode).
    """

    def __init__(self, plan: PrivacyPlan, *, module: nn.Module, optimizer: torch.optim.Optimizer,
                 seed: int) -> None:
        opacus = _opacus()
        self.plan = plan
        self.module = module
        sampling, noise = _dp_generators(seed, plan.secure_mode)
        self.optimizer = opacus.optimizers.DPOptimizer(
            optimizer, noise_multiplier=plan.noise_multiplier, max_grad_norm=plan.max_grad_norm,
            expected_batch_size=plan.expected_batch, generator=noise, secure_mode=plan.secure_mode)
        self.accountant = opacus.accountants.create_accountant(plan.accountant)
        sampler = opacus.utils.uniform_sampler.UniformWithReplacementSampler(
            num_samples=plan.units, sample_rate=plan.sample_rate, generator=sampling,
            steps=plan.steps)
        self._batches: Iterator[list[int]] = iter(sampler)
        self.steps_taken = 0

    def sample_units(self) -> torch.Tensor:
        """The units of the next step (Poisson sampling; possibly none)."""
        try:
            units = next(self._batches)
        except StopIteration as exc:  # the plan's step count is a hard budget
            raise RuntimeError(f"the DP fit asked for more than its {self.plan.steps} planned "
                               "steps") from exc
        return torch.tensor(units, dtype=torch.int64)

    def step(self, grads: Mapping[str, torch.Tensor]) -> None:
        """One clipped, noised optimizer step from per-example ``grads``; account for it."""
        named = dict(self.module.named_parameters())
        for name, grad in grads.items():
            named[name].grad_sample = grad  # type: ignore[attr-defined]  # read by DPOptimizer
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.accountant.step(noise_multiplier=self.plan.noise_multiplier,
                             sample_rate=self.plan.sample_rate)
        self.steps_taken += 1

    def spent(self) -> tuple[float, float]:
        """Row-level ``(epsilon, delta)`` spent so far."""
        if not self.steps_taken:
            return 0.0, 0.0
        with _quiet_orders():
            unit_epsilon = float(self.accountant.get_epsilon(
                delta=self.plan.unit_delta, **_accountant_options(self.plan.accountant)))
        return self.plan.row_guarantee(unit_epsilon)

    def record(self) -> dict[str, Any]:
        """What the artifact keeps: the plan, the budget spent and what it covers."""
        epsilon, delta = self.spent()
        unit = "row" if self.plan.unit_rows == 1 else f"pack of {self.plan.unit_rows} rows"
        return {**asdict(self.plan), "epsilon": epsilon, "spent_delta": delta,
                "steps": self.steps_taken, "planned_steps": self.plan.steps, "unit": unit,
                "adjacency": ("add or remove one row" if self.plan.group == 1
                              else "replace one row (group privacy over its pack)"),
                "mechanism": "DP-SGD (opacus DPOptimizer, Poisson sampling)"}
