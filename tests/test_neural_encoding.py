"""Network-space encoding, span operations and CTGAN's conditional vector."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from synth_ray.errors import ConfigError
from synth_ray.models.neural.conditional_sampler import ConditionSpace, TrainingRowSampler
from synth_ray.models.neural.encoding import NetworkEncoding
from synth_ray.models.neural.options import CTGANOptions, TVAEOptions
from synth_ray.models.neural.span_ops import (
    TorchLayout,
    dense_rows,
    discrete_log_probs,
    sample_spans,
    training_activation,
)
from synth_ray.models.neural.training_loop import LoopSettings, run_training
from synth_ray.transforms.model_frame import ModelColumn, ModelColumnType, ModelFrame
from synth_ray.transforms.output_spans import OutputSpan, SpanActivation

TANH, SOFTMAX = SpanActivation.TANH, SpanActivation.SOFTMAX


def mixed_frame(n: int = 6_000, seed: int = 0) -> tuple[ModelFrame, list[ModelColumn]]:
    """Bimodal amounts with nulls, a 3-way category with nulls, a boolean and a constant."""
    rng = np.random.default_rng(seed)
    amount = np.where(rng.random(n) < 0.3, rng.normal(-5, 1, n), rng.normal(5, 1, n))
    amount_nulls = rng.random(n) < 0.1
    amount[amount_nulls] = 0.0  # imputed, as the column transform does
    segment = rng.choice(3, n, p=[0.6, 0.3, 0.1]).astype(np.int32)
    segment_nulls = rng.random(n) < 0.05
    segment[segment_nulls] = 0
    frame = ModelFrame(n_rows=n, values={
        "amount": amount, "segment": segment,
        "member": (rng.random(n) < 0.3).astype(np.int32), "constant": np.full(n, 7.25)},
        nulls={"amount": amount_nulls, "segment": segment_nulls})
    columns = [ModelColumn("amount", ModelColumnType.CONTINUOUS, nullable=True),
               ModelColumn("segment", ModelColumnType.DISCRETE, n_categories=3, nullable=True),
               ModelColumn("member", ModelColumnType.DISCRETE, n_categories=2),
               ModelColumn("constant", ModelColumnType.CONTINUOUS)]
    return frame, columns


@pytest.fixture(scope="module")
def mixed() -> tuple[ModelFrame, list[ModelColumn], NetworkEncoding]:
    frame, columns = mixed_frame()
    encoding = NetworkEncoding.fit(frame, columns=columns, max_modes=10, max_categories=1000,
                                   mode_concentration=1e-3, seed=0)
    return frame, columns, encoding


def test_spans_follow_the_columns(mixed):
    _, _, encoding = mixed
    n_modes = encoding.codecs[0].normalizer.n_modes
    assert n_modes == 2  # two well-separated modes
    assert encoding.spans == [
        OutputSpan(1, TANH), OutputSpan(2, SOFTMAX), OutputSpan(2, SOFTMAX),  # amount, its nulls
        OutputSpan(3, SOFTMAX), OutputSpan(2, SOFTMAX),  # segment, its nulls
        OutputSpan(2, SOFTMAX),  # member
        OutputSpan(1, TANH), OutputSpan(1, SOFTMAX)]  # constant: one mode
    layout = encoding.layout
    assert layout.width == 14
    assert layout.tanh_positions.tolist() == [0, 12]
    assert layout.softmax_offsets.tolist() == [1, 3, 5, 8, 10, 13]
    assert layout.discrete_spans.tolist() == [2, 4]  # segment's and member's category blocks


def test_round_trip_is_exact(mixed):
    frame, _, encoding = mixed
    encoded = encoding.encode(frame, rng=np.random.default_rng(1))
    back = encoding.decode(encoded)
    for name in ("segment", "member"):
        np.testing.assert_array_equal(back.values[name], frame.values[name])
    for name in ("amount", "segment"):
        np.testing.assert_array_equal(back.nulls[name], frame.nulls[name])
    present = ~frame.nulls["amount"]  # null rows hold an imputed value, not data
    ok = encoding.codecs[0].normalizer.representable(frame.values["amount"]) & present
    assert ok.sum() > 0.999 * present.sum()
    np.testing.assert_allclose(back.values["amount"][ok], frame.values["amount"][ok], rtol=1e-12)
    np.testing.assert_allclose(back.values["constant"], 7.25, rtol=1e-12)
    # the dense one-hot rows decode to the same frame (argmax of each block)
    dense = encoding.layout.dense(encoded).astype(np.float64)
    dense[:, encoding.layout.tanh_positions] = encoded.scalars
    again = encoding.decode_matrix(dense)
    for name in ("segment", "member"):
        np.testing.assert_array_equal(again.values[name], back.values[name])
    np.testing.assert_array_equal(again.values["amount"], back.values["amount"])


def test_modes_are_drawn_from_the_posterior_when_encoding(mixed):
    frame, _, encoding = mixed
    a = encoding.encode(frame, rng=np.random.default_rng(1))
    b = encoding.encode(frame, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a.indices, b.indices)
    # modes lie 10 sd apart: the posterior is all but certain, so sampled = argmax here
    argmax = encoding.encode(frame)
    assert (a.indices[:, 0] == argmax.indices[:, 0]).mean() > 0.999


def test_config_and_tensors_rebuild_the_same_encoding(mixed):
    frame, columns, encoding = mixed
    again = NetworkEncoding.from_state(columns=columns, config=encoding.config(),
                                       tensors=encoding.tensors())
    assert again.spans == encoding.spans
    encoded = encoding.encode(frame)
    np.testing.assert_array_equal(again.encode(frame).scalars, encoded.scalars)


def test_high_cardinality_column_is_capped_and_its_tail_grouped():
    n, k = 200_000, 100_000
    rng = np.random.default_rng(0)
    codes = np.minimum(rng.zipf(1.3, n) - 1, k - 1).astype(np.int32)
    codes[:k] = np.arange(k)  # every category occurs
    frame = ModelFrame(n_rows=n, values={"sku": codes})
    columns = [ModelColumn("sku", ModelColumnType.DISCRETE, n_categories=k)]
    encoding = NetworkEncoding.fit(frame, columns=columns, max_modes=10, max_categories=500,
                                   mode_concentration=100.0, seed=0)
    assert encoding.width == 500
    entry = encoding.config()["columns"][0]
    assert entry["grouped"] == k - 499 and entry["width"] == 500
    assert 0.0 < entry["grouped_row_share"] < 1.0
    encoded = encoding.encode(frame)
    assert encoded.indices.shape == (n, 1)  # one integer per row, not a 500-wide one-hot row
    counts = np.bincount(codes, minlength=k)
    top = np.argsort(-counts, kind="stable")[:499]
    kept = np.isin(codes, top)
    back = encoding.decode(encoded, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(back.values["sku"][kept], codes[kept])  # exact for kept ones
    grouped = back.values["sku"][~kept]
    assert not np.isin(grouped, top).any() and grouped.max() < k  # tail -> grouped categories
    rebuilt = NetworkEncoding.from_state(columns=columns, config=encoding.config(),
                                         tensors=encoding.tensors())
    np.testing.assert_array_equal(rebuilt.decode(encoded, rng=np.random.default_rng(0)).values["sku"],
                                  back.values["sku"])


def test_conditions_follow_log_frequency_for_training_and_frequency_for_sampling():
    freqs = [np.array([0.9, 0.09, 0.01]), np.array([0.5, 0.5])]
    space = ConditionSpace(freqs, log_frequency=True, n_rows=10_000)
    generator = torch.Generator().manual_seed(0)
    n = 400_000
    train = np.bincount(space.training_conditions(n, generator).numpy(), minlength=5) / n
    log_counts = np.log1p(freqs[0] * 10_000)
    expected = np.concatenate([log_counts / log_counts.sum(), freqs[1]]) / 2  # column uniform
    np.testing.assert_allclose(train, expected, atol=0.004)
    real = np.bincount(space.sampling_conditions(n, generator).numpy(), minlength=5) / n
    np.testing.assert_allclose(real, np.concatenate(freqs) / 2, atol=0.004)
    assert space.slot(1, 1) == 4


def test_training_rows_satisfy_their_conditions():
    rng = np.random.default_rng(0)
    slots = np.stack([rng.choice(3, 5_000, p=[0.7, 0.2, 0.1]), rng.choice(2, 5_000)], axis=1)
    freqs = [np.bincount(slots[:, j]) / 5_000 for j in range(2)]
    space = ConditionSpace(freqs, n_rows=5_000)
    sampler = TrainingRowSampler(slots, space)
    generator = torch.Generator().manual_seed(0)
    conditions = space.training_conditions(10_000, generator)
    rows = sampler.rows(conditions, 10_000, generator).numpy()
    column = (conditions.numpy() >= 3).astype(int)
    slot = conditions.numpy() - np.where(column == 1, 3, 0)
    np.testing.assert_array_equal(slots[rows, column], slot)
    assert len(np.unique(rows)) > 3_000  # uniform among matching rows, not one row each


def test_sampled_slots_follow_the_softmax(mixed):
    _, _, encoding = mixed
    layout = TorchLayout.from_layout(encoding.layout)
    logits = torch.zeros(1, layout.width)
    logits[0, 5:8] = torch.log(torch.tensor([0.7, 0.2, 0.1]))  # the segment block
    logits[0, 0] = 0.5
    raw = logits.expand(200_000, -1).contiguous()
    scalars, slots = sample_spans(raw, layout, torch.Generator().manual_seed(0))
    assert torch.allclose(scalars[:, 0], torch.tanh(torch.tensor(0.5)))
    freq = np.bincount(slots[:, 2].numpy(), minlength=3) / 200_000
    np.testing.assert_allclose(freq, [0.7, 0.2, 0.1], atol=0.005)
    assert (slots.numpy() < np.array(layout.softmax_widths)).all()


def test_training_activation_and_conditional_log_probs(mixed):
    frame, _, encoding = mixed
    layout = TorchLayout.from_layout(encoding.layout)
    raw = torch.randn(64, layout.width, generator=torch.Generator().manual_seed(0),
                      requires_grad=True)
    out = training_activation(raw, layout, tau=0.2, generator=torch.Generator().manual_seed(1))
    assert out.shape == raw.shape
    assert torch.allclose(out[:, layout.tanh_positions], torch.tanh(raw[:, layout.tanh_positions]))
    for offset, width in zip(layout.softmax_offsets.tolist(), layout.softmax_widths, strict=True):
        assert torch.allclose(out[:, offset:offset + width].sum(dim=1), torch.ones(64))
    out.sum().backward()  # differentiable through the grouped gathers
    assert raw.grad is not None and torch.isfinite(raw.grad).all()
    conditions = torch.tensor([0, 1, 2, 3, 4] * 12 + [0, 1, 2, 3])
    got = discrete_log_probs(raw.detach(), layout, conditions)
    blocks = [torch.log_softmax(raw.detach()[:, 5:8], 1), torch.log_softmax(raw.detach()[:, 10:12], 1)]
    expected = torch.cat(blocks, dim=1).gather(1, conditions.view(-1, 1)).view(-1)
    assert torch.allclose(got, expected, atol=1e-6)
    encoded = encoding.encode(frame.take(np.arange(8)))
    dense = dense_rows(torch.from_numpy(encoded.scalars).float(), torch.from_numpy(encoded.indices),
                       layout, torch.empty(8, layout.width))
    np.testing.assert_allclose(dense.numpy(), encoding.layout.dense(encoded))


def test_options_are_validated_with_the_nearest_key():
    with pytest.raises(ConfigError, match="unknown key 'epoch': did you mean 'epochs'"):
        CTGANOptions.from_mapping({"epoch": 3}, model="ctgan")
    with pytest.raises(ConfigError, match="'epochs' must be an integer >= 1, got 0.*copula"):
        TVAEOptions.from_mapping({"epochs": 0}, model="tvae")
    with pytest.raises(ConfigError, match="multiple of 'pac'"):
        CTGANOptions(batch_size=55)
    with pytest.raises(ConfigError, match="did you mean 'decoder_dims'"):
        TVAEOptions.from_mapping({"decoder_dim": [64]}, model="tvae")
    assert TVAEOptions.from_mapping({"decoder_dims": [64, 32]}, model="tvae").decoder_dims == (64, 32)
    assert CTGANOptions().to_dict()["generator_dims"] == [256, 256]


class _Scripted:
    """A trainable whose validation scores are given; its 'weights' are the epoch number."""

    def __init__(self, scores: list[float]) -> None:
        self.scores, self.epoch, self.restored = scores, -1, None

    def start_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def train_step(self) -> dict[str, float]:
        return {"loss": float(self.epoch)}

    def validation_score(self) -> float:
        return self.scores[self.epoch]

    def snapshot(self) -> dict[str, torch.Tensor]:
        return {"epoch": torch.tensor(self.epoch)}

    def restore(self, snapshot) -> None:
        self.restored = int(snapshot["epoch"])


def test_early_stopping_keeps_the_best_epoch():
    trainable = _Scripted([0.5, 0.7, 0.6, 0.65, 0.9, 0.95])
    history = run_training(trainable, LoopSettings(epochs=6, steps_per_epoch=3, validate=True,
                                                   patience=2))
    assert history.stopped_early and len(history.losses) == 4
    assert history.best_epoch == 1 and trainable.restored == 1
    assert history.losses[2] == {"loss": 2.0}
    assert history.to_dict()["validation"] == [[0, 0.5], [1, 0.7], [2, 0.6], [3, 0.65]]
    without = run_training(_Scripted([0.0] * 3), LoopSettings(epochs=3, steps_per_epoch=1))
    assert not without.stopped_early and without.best_epoch == 2 and not without.validation
