"""CTGAN trained with DP-SGD on the critic, the only network that sees real rows.

The generator learns only through the critic's scores, so it is post-processing of a
differentially private critic (as in DP-CTGAN and DP-GAN, Xie et al., 2018). What changes
from :class:`~synth_ray.models.neural.ctgan_training.CTGANTrainer`:

* **Packs are the privacy unit.** The training rows are cut once into fixed packs of
  ``pac`` rows (a seeded permutation; at most ``pac - 1`` rows left out), and each critic
  step Poisson-samples packs. A pack's gradient is clipped as one example, so the sample
  rate is ``(batch_size / pac) / packs`` and a row's guarantee comes from its pack's by
  group privacy (see :mod:`.private_training`).
* **Conditions come from the rows, not training-by-sampling.** Picking real rows that
  match a drawn condition would make a rare row's chance of being used depend on the rest
  of the data, which the accountant does not allow. Each sampled real row is conditioned
  on its own category of a discrete column chosen at random; fake rows are generated under
  conditions drawn by the real category frequencies, which gives both sides the same
  distribution of conditions. The fake rows never depend on the sampled real rows.
* **The gradient penalty stays, computed per pack.** WGAN-GP's penalty is a gradient of
  the critic inside the loss; opacus' per-sample hooks cannot differentiate through it
  (no double backward). Here each pack's loss ``D(fake) - D(real) + lambda (||grad
  D(x_hat)|| - 1)^2`` (``x_hat`` between that pack's real and fake rows) is differentiated
  with ``torch.func`` (``grad`` inside ``vmap`` over packs), so every term that touches a
  real row is inside the clipped per-pack gradient. Fake packs are generated in fixed-size
  batches (batch norm never mixes statistics over a data-dependent number of rows).
* **No dropout in the critic** (random masks cannot be drawn inside ``vmap`` from the
  fit's seeded generator; the DP noise regularises instead), no prior log-frequency
  biases, and only the generator's losses are recorded (the critic's loss is an unnoised
  function of the rows).
"""

from __future__ import annotations

from typing import Any

import torch
from torch.func import functional_call

from synth_ray.models.neural.conditional_sampler import one_hot
from synth_ray.models.neural.ctgan_training import CTGANTrainer
from synth_ray.models.neural.generator_base import PreparedData
from synth_ray.models.neural.options import CTGANOptions
from synth_ray.models.neural.private_training import (
    DPTrainingStep,
    per_example_gradients,
    plan_privacy,
)
from synth_ray.models.neural.runtime import torch_generator
from synth_ray.models.neural.span_ops import dense_rows

__all__ = ["PrivateCTGANTrainer"]


class PrivateCTGANTrainer(CTGANTrainer):
    """A :class:`CTGANTrainer` whose critic steps are DP-SGD steps over Poisson-sampled packs."""

    def __init__(self, data: PreparedData, options: CTGANOptions) -> None:
        super().__init__(data, options)
        if options.dp is None:
            raise ValueError("PrivateCTGANTrainer needs options.dp")
        self.critic.eval()  # no dropout: see the module's notes
        n_rows, pac = int(self.scalars.shape[0]), options.pac
        steps = options.epochs * max(1, n_rows // options.batch_size) * options.discriminator_steps
        plan = plan_privacy(options.dp, rows=n_rows, unit_rows=pac, batch_rows=options.batch_size,
                            steps=steps)
        order = torch.randperm(n_rows, generator=torch_generator(data.seeds.split))
        self.packs = order[: plan.units * pac].view(plan.units, pac)
        self.slots = torch.from_numpy(
            data.train.indices[:, data.encoding.layout.discrete_spans]).to(torch.int64)
        self.private = DPTrainingStep(plan, module=self.critic, optimizer=self.critic_opt,
                                      seed=data.seeds.train)

    def _real_packs(self, packs: torch.Tensor) -> torch.Tensor:
        """``(packs, pac, width + cond)``: the packs' rows, each under its own category."""
        rows = self.packs[packs].reshape(-1)
        real = dense_rows(self.scalars[rows], self.indices[rows], self.layout,
                          torch.zeros(rows.numel(), self.layout.width))
        cond = torch.zeros(rows.numel(), self.space.dim)
        if self.space.dim:
            column = torch.randint(self.space.n_columns, (rows.numel(),), generator=self.generator_rng)
            one_hot(self.space.offsets[column] + self.slots[rows, column], self.space.dim, out=cond)
        return torch.cat([real, cond], dim=1).view(packs.numel(), self.options.pac, -1)

    def _draw_conditions(self, n: int) -> torch.Tensor:
        """``n`` conditions of generated rows, by the real category frequencies."""
        return self.space.sampling_conditions(n, self.generator_rng)

    def _fake_packs(self, packs: int) -> torch.Tensor:
        """``(packs, pac, width + cond)`` generated rows, made in batches of ``batch_size``."""
        pac, batches = self.options.pac, []
        with torch.no_grad():
            for _ in range(-(-packs * pac // self.options.batch_size)):
                self._conditions()
                _, fake = self._fake()
                batches.append(torch.cat([fake, self._cond], dim=1))
        width = self.layout.width + self.space.dim
        rows = torch.cat(batches) if batches else torch.zeros(0, width)
        return rows[: packs * pac].view(packs, pac, width)

    def _pack_loss(self, params: dict[str, torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                   alpha: torch.Tensor) -> torch.Tensor:
        """One pack's WGAN-GP critic loss (the function each pack's gradient is taken of)."""
        def score(x: torch.Tensor) -> torch.Tensor:
            return functional_call(self.critic, params, (x,)).sum()

        mixed = alpha * real + (1.0 - alpha) * fake
        slope = torch.func.grad(score)(mixed)
        penalty = (torch.linalg.vector_norm(slope) - 1.0) ** 2
        return score(fake) - score(real) + self.options.gradient_penalty * penalty

    def _critic_step(self) -> None:
        packs = self.private.sample_units()
        real = self._real_packs(packs)
        fake = self._fake_packs(packs.numel())
        alpha = torch.rand(packs.numel(), 1, 1, generator=self.generator_rng)
        grads, _ = per_example_gradients(self.critic, self._pack_loss, real, fake, alpha)
        self.private.step(grads)

    def train_step(self) -> dict[str, float]:
        """``discriminator_steps`` DP critic steps, then one generator step."""
        for _ in range(self.options.discriminator_steps):
            self._critic_step()
        conditions = self._conditions()
        raw, fake = self._fake()
        adversarial, conditional = self._generator_update(raw, fake, conditions)
        return {"generator": adversarial, "conditional": conditional}

    def privacy_record(self) -> dict[str, Any]:
        """``{"privacy": ...}``: the budget spent and the settings, for the model's history."""
        return {"privacy": self.private.record()}
