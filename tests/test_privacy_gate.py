"""The gate's privacy check and the refresh's holdout: real GX runs, real fits, no mocks.

A model is fitted on the training rows of a table (the holdout never reaches it); its
own sample passes the gate, and a "generator" that copies training rows with tiny
noise (no exact copy, every distribution intact) fails exactly the DCR-share check.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import yaml

pytest.importorskip("great_expectations", reason="needs the gx extra")

from conftest import make_mixed_table

import synth_ray
from airflow_dags.holdout import split_holdout
from expectations import GateThresholds, validate_synthetic
from synth_ray.errors import ConfigError
from synth_ray.evaluation.privacy import balanced_share

ROWS = 2_000
DCR_LINE = re.compile(r"^table: privacy_dcr_share: observed dcr_share (\d\.\d{3}) \(.*\) vs allowed "
                      r"max_dcr_share=(\S+)$")


@pytest.fixture(scope="module")
def split() -> tuple[pa.Table, pa.Table]:
    """1,600 training rows and 400 holdout rows of the mixed table (its rows are i.i.d.)."""
    table = make_mixed_table(ROWS, seed=4)
    return table.slice(0, 1_600), table.slice(1_600)


@pytest.fixture(scope="module")
def model_dir(split, tmp_path_factory) -> Path:
    model = synth_ray.fit(split[0], seed=0)
    return synth_ray.save(model, tmp_path_factory.mktemp("privacy") / "orders")


@pytest.fixture(scope="module")
def fake(model_dir) -> pa.Table:
    return synth_ray.load(model_dir).sample_arrow(ROWS, seed=1)


def noisy_copies(training: pa.Table, fake: pa.Table) -> pa.Table:
    """Training rows drawn with replacement, each moved a second and a cent: no exact copy.

    Ids and pii keep the synthetic values (the gate would catch copied ids otherwise),
    so only the learned columns are copies, as a memorizing generator would make them.
    """
    rng = np.random.default_rng(7)
    rows = training.take(pa.array(rng.integers(0, training.num_rows, fake.num_rows)))
    stamps = rows.column("created_at").cast(pa.int64()).to_numpy()
    top = stamps.max()
    moved = np.where(stamps < top, stamps + 1_000_000, stamps - 1_000_000)  # one second, within range
    amount = rows.column("amount").to_numpy(zero_copy_only=False)
    low, high = np.nanmin(amount), np.nanmax(amount)
    shifted = np.where(amount + 0.01 <= high, amount + 0.01, amount - 0.01)
    columns = {name: rows.column(name) for name in rows.column_names}
    columns["created_at"] = pa.array(moved).cast(pa.timestamp("us", tz="UTC"))
    columns["amount"] = pa.array(np.round(np.clip(shifted, low, high), 2), mask=np.isnan(amount))
    for name in ("order_id", "customer_key", "email", "phone", "full_name"):
        columns[name] = fake.column(name)
    return pa.table(columns, schema=training.schema)


def test_a_good_sample_passes_with_its_privacy_metrics(split, model_dir, fake):
    training, holdout = split
    result = validate_synthetic(fake, model_dir=model_dir, expected_rows=ROWS, training=training,
                                holdout=holdout)
    assert result.success, result.summary
    privacy = result.privacy
    assert privacy is not None and privacy["judged"] is True
    assert 0.4 < privacy["dcr_share"] < 0.6 and privacy["max_dcr_share"] == 0.6
    assert privacy["exact_match_rate"] == 0.0
    assert (privacy["training_rows_searched"], privacy["holdout_rows_searched"],
            privacy["synthetic_rows_queried"]) == (1_600, 400, ROWS)
    assert privacy["verdicts"]["privacy.dcr_share"] in ("pass", "warn")
    assert result.summary.startswith("synth-ray gate PASSED")
    assert f"privacy: dcr_share {privacy['dcr_share']:.3f} (max 0.6)" in result.summary
    assert result.to_dict()["privacy"] == privacy


def test_copies_of_training_rows_with_tiny_noise_fail_only_the_dcr_share(split, model_dir, fake):
    training, holdout = split
    copies = noisy_copies(training, fake)
    result = validate_synthetic(copies, model_dir=model_dir, expected_rows=ROWS, training=training,
                                holdout=holdout)
    assert not result.success
    assert len(result.failures) == 1, result.summary  # no exact copy, every distribution intact
    match = DCR_LINE.match(result.failures[0])
    assert match, result.failures[0]
    assert float(match.group(1)) > 0.95 and match.group(2) == "0.6"
    assert result.privacy is not None and result.privacy["dcr_share"] > 0.95
    assert result.privacy["exact_match_rate"] == 0.0  # the suite's copy check cannot see them
    assert "synth-ray gate FAILED" in result.summary and "FAIL  table: privacy_dcr_share" in result.summary


def test_the_dcr_threshold_is_a_gate_threshold(split, model_dir, fake):
    training, holdout = split
    strict = validate_synthetic(fake, model_dir=model_dir, training=training, holdout=holdout,
                                thresholds={"max_dcr_share": 0.2})
    assert [DCR_LINE.match(f).group(2) for f in strict.failures] == ["0.2"]  # type: ignore[union-attr]
    lax = validate_synthetic(noisy_copies(training, fake), model_dir=model_dir, training=training,
                             holdout=holdout, thresholds=GateThresholds(max_dcr_share=1.0))
    assert lax.success, lax.summary
    with pytest.raises(ConfigError, match="'max_dcr_share' must be in"):
        GateThresholds(max_dcr_share=1.5)
    with pytest.raises(ConfigError, match="did you mean 'max_dcr_share'"):
        GateThresholds.from_mapping({"max_dcr_shar": 0.5})


def test_the_privacy_check_needs_both_tables_and_enough_holdout_rows(split, model_dir, fake):
    training, holdout = split
    with pytest.raises(ConfigError, match="holdout="):
        validate_synthetic(fake, model_dir=model_dir, training=training)
    tiny = validate_synthetic(noisy_copies(training, fake), model_dir=model_dir, training=training,
                              holdout=holdout.slice(0, 20))
    assert tiny.success and tiny.privacy is not None and tiny.privacy["judged"] is False
    assert "privacy: not judged, only 20 holdout rows" in tiny.summary
    without = validate_synthetic(fake, model_dir=model_dir)
    assert without.privacy is None and "privacy" not in without.to_dict()


def test_balanced_share_puts_a_fair_generator_at_one_half():
    assert balanced_share(0.8, training=4, holdout=1) == pytest.approx(0.5)
    assert balanced_share(0.5, training=7, holdout=7) == pytest.approx(0.5)
    assert balanced_share(1.0, training=4, holdout=1) == 1.0
    assert balanced_share(0.0, training=4, holdout=1) == 0.0
    assert balanced_share(0.9, training=4, holdout=1) == pytest.approx(0.9 / (0.9 + 0.1 * 4))


def test_the_holdout_split_is_deterministic_stable_and_by_value():
    table = make_mixed_table(4_000, seed=9).drop_columns(["order_id", "customer_key"])
    first = split_holdout(table, fraction=0.2, salt="orders:0")
    assert first.holdout.num_rows + first.training.num_rows == 4_000
    assert 0.17 < first.holdout.num_rows / 4_000 < 0.23
    again = split_holdout(table, fraction=0.2, salt="orders:0")
    assert again.holdout.equals(first.holdout) and again.training.equals(first.training)
    other = split_holdout(table, fraction=0.2, salt="orders:1")
    assert not other.holdout.equals(first.holdout)

    # New rows do not move old ones: a row held out once is never learned by a later refit.
    grown = split_holdout(pa.concat_tables([table, make_mixed_table(1_000, seed=10).drop_columns(
        ["order_id", "customer_key"])]), fraction=0.2, salt="orders:0")
    assert grown.holdout.slice(0, first.holdout.num_rows).equals(first.holdout)

    # Equal rows share a side: a duplicated row is never both learned and held out.
    doubled = split_holdout(pa.concat_tables([table, table]), fraction=0.2, salt="orders:0")
    assert doubled.holdout.num_rows == 2 * first.holdout.num_rows
    emails = set(first.holdout.column("email").to_pylist())
    assert not emails & set(first.training.column("email").to_pylist())
    assert split_holdout(table, fraction=0.0, salt="x").training.num_rows == 4_000
    summary = first.summary()
    assert summary["fraction"] == 0.2 and summary["holdout_rows"] == first.holdout.num_rows


def _config(tmp_path: Path, **changes) -> Path:
    path = tmp_path / "orders.yaml"
    path.write_text(yaml.safe_dump({"name": "orders", "source": {"format": "delta", "path": "real"},
                                    "target": {"format": "delta", "path": "synthetic"}, "rows": 10,
                                    **changes}), encoding="utf-8")
    return path


def test_the_table_config_sets_the_holdout_and_the_dcr_threshold(tmp_path):
    from airflow_dags.config import load_table_config

    default = load_table_config(_config(tmp_path))
    assert default.holdout_fraction == 0.2 and GateThresholds.from_mapping(default.expectations).max_dcr_share == 0.6
    custom = load_table_config(_config(tmp_path, holdout_fraction=0.3, expectations={"max_dcr_share": 0.55}))
    assert custom.holdout_fraction == 0.3
    assert GateThresholds.from_mapping(custom.expectations).max_dcr_share == 0.55
    with pytest.raises(ConfigError, match=r"orders.yaml: holdout_fraction: must be a number in \[0, 0.5\]"):
        load_table_config(_config(tmp_path, holdout_fraction=0.7))
    with pytest.raises(ConfigError, match="expectations.*'max_dcr_share' must be in"):
        load_table_config(_config(tmp_path, expectations={"max_dcr_share": 2}))


def test_a_model_fitted_on_another_split_is_refitted():
    from airflow_dags.config import RefitPolicy
    from airflow_dags.refit import ModelState, decide_refit

    fingerprint = {"content": "c", "schema": "s"}
    kept = ModelState(fingerprint=fingerprint, fitted_run="r0", holdout_fraction=0.2)
    args = {"every": None, "fingerprint": fingerprint, "run": "r1", "model_exists": True}
    assert not decide_refit(RefitPolicy.ON_CHANGE, state=kept, holdout_fraction=0.2, **args).refit
    changed = decide_refit(RefitPolicy.ON_CHANGE, state=kept, holdout_fraction=0.3, **args)
    assert changed.refit and "holdout" in changed.reason
    legacy = ModelState(fingerprint=fingerprint, fitted_run="r0")  # fitted on every row
    assert decide_refit(RefitPolicy.ON_CHANGE, state=legacy, holdout_fraction=0.2, **args).refit


def test_a_spark_dataframe_is_judged_on_a_bounded_sample_too(spark, split, model_dir, fake):
    training, holdout = split
    frames = {name: spark.createDataFrame(table.to_pandas()).repartition(2)
              for name, table in (("good", fake), ("copies", noisy_copies(training, fake)))}
    good = validate_synthetic(frames["good"], model_dir=model_dir, expected_rows=ROWS, training=training,
                              holdout=holdout)
    assert good.success and "(spark," in good.summary, good.summary
    assert good.privacy is not None and good.privacy["synthetic_rows_queried"] == ROWS
    copies = validate_synthetic(frames["copies"], model_dir=model_dir, expected_rows=ROWS,
                                training=training, holdout=holdout)
    assert [DCR_LINE.match(f) is not None for f in copies.failures] == [True], copies.summary
