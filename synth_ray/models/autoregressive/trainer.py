"""Training the token network: a :class:`~synth_ray.models.neural.training_loop.Trainable`.

Each step takes the next rows of a shuffled order, draws a visible set per row
(:func:`.orders.training_visibility`) and minimises the summed per-token
cross-entropy, i.e. the negative log-likelihood of the row under that order. The
validation score is minus the mean negative log-likelihood of held-out rows in plain
column order (the order unconditional sampling uses), so early stopping keeps the
weights that generalise best rather than those that memorise the training rows.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from synth_ray.models.autoregressive.network import TokenNetwork
from synth_ray.models.autoregressive.options import ARGNOptions
from synth_ray.models.autoregressive.orders import training_visibility
from synth_ray.models.neural.runtime import torch_generator

__all__ = ["TokenTrainer"]

_VALIDATION_BATCH = 4096


class TokenTrainer:
    """Network, optimiser and batches of one fit."""

    def __init__(self, *, network: TokenNetwork, train: np.ndarray, validation: np.ndarray | None,
                 column_of: np.ndarray, part_of: np.ndarray, options: ARGNOptions,
                 seed: int) -> None:
        self.network = network
        self.options = options
        self.train = torch.from_numpy(train)
        self.validation = None if validation is None else torch.from_numpy(validation)
        self.column_of = torch.from_numpy(column_of)
        self.part_of = torch.from_numpy(part_of)
        self.n_rows = int(train.shape[0])
        self.batch_size = options.rows_per_batch(self.n_rows)
        self.rng = torch_generator(seed)
        self.optimizer = torch.optim.AdamW(network.parameters(), lr=options.lr,
                                           weight_decay=options.weight_decay)
        self._order = torch.arange(self.n_rows)
        self._step = 0

    @property
    def steps_per_epoch(self) -> int:
        """Full batches per pass over the training rows (at least one)."""
        return max(1, self.n_rows // self.batch_size)

    def start_epoch(self, epoch: int) -> None:
        """A fresh shuffle of the training rows."""
        self._order = torch.randperm(self.n_rows, generator=self.rng)
        self._step = 0

    def train_step(self) -> dict[str, float]:
        """One AdamW step on the next batch under random visible sets."""
        start = self._step * self.batch_size
        self._step += 1
        tokens = self.train[self._order[start:start + self.batch_size]]
        visible = training_visibility(tokens.shape[0], column_of=self.column_of,
                                      part_of=self.part_of,
                                      canonical_share=self.options.canonical_share,
                                      generator=self.rng)
        self.network.train()
        loss = self.network.token_losses(tokens, visible, noise=self.rng,
                                         dropout=self.options.dropout).sum()
        self.optimizer.zero_grad(set_to_none=True)
        torch.autograd.backward([loss])
        self.optimizer.step()
        return {"nll": float(loss.detach())}

    def validation_loss(self) -> float:
        """Mean negative log-likelihood of the validation rows in plain column order."""
        if self.validation is None or not len(self.validation):
            return 0.0
        n = self.network.n_tokens
        order = torch.arange(n)
        total = 0.0
        self.network.eval()
        with torch.no_grad():
            for start in range(0, len(self.validation), _VALIDATION_BATCH):
                tokens = self.validation[start:start + _VALIDATION_BATCH]
                visible = (order[None, :] < order[:, None]).expand(tokens.shape[0], n, n)
                total += float(self.network.token_losses(tokens, visible).sum()) * tokens.shape[0]
        return total / len(self.validation)

    def validation_score(self) -> float:
        """Minus :meth:`validation_loss` (the loop keeps the highest score)."""
        return -self.validation_loss()

    def snapshot(self) -> dict[str, torch.Tensor]:
        """A copy of the network's weights."""
        return {k: v.detach().clone() for k, v in self.network.state_dict().items()}

    def restore(self, snapshot: Mapping[str, torch.Tensor]) -> None:
        """Put back :meth:`snapshot`'s weights."""
        self.network.load_state_dict(dict(snapshot))
