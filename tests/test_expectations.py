"""The Great Expectations gate on pandas, Arrow, Delta and Parquet: real GX runs, no mocks.

A good synthetic table passes; each kind of damage fails exactly the expectation that
should catch it, and nothing else.
"""

# ruff: noqa: F811  (pytest fixtures imported from gate_fixtures are redefined as arguments)
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

pytest.importorskip("great_expectations", reason="needs the gx extra")

from gate_fixtures import GATE_ROWS as ROWS
from gate_fixtures import gate_fake, gate_model_dir  # noqa: F401

import synth_ray
from expectations import GateResult, GateThresholds, build_suite, save_suite, validate_synthetic
from expectations.statistics import BatchSummary, association, ks_distance, summarize, tv_distance
from synth_ray.errors import ArtifactError, ConfigError, MissingExtraError
from synth_ray.pandas_output import to_pandas


@pytest.fixture()
def good(gate_fake) -> pd.DataFrame:
    return to_pandas(gate_fake)


def only_failure(result: GateResult) -> str:
    assert not result.success
    assert len(result.failures) == 1, result.summary
    return result.failures[0]


def test_a_good_synthetic_table_passes(good, gate_model_dir):
    result = validate_synthetic(good, model_dir=gate_model_dir, expected_rows=ROWS)
    assert result.success, result.summary
    assert result.failures == ()
    assert result.summary.startswith("synth-ray gate PASSED")
    assert result.to_dict() == {"success": True, "failures": [], "summary": result.summary}


def _shift(df: pd.DataFrame, real: pa.Table) -> pd.DataFrame:
    values = real.column("amount").to_numpy(zero_copy_only=False)
    df["amount"] = (df["amount"] + 60.0).clip(np.nanmin(values), np.nanmax(values))
    return df


def _nulls(df: pd.DataFrame, real: pa.Table) -> pd.DataFrame:
    df.loc[df.index[:20], "segment"] = None
    return df


def _dtype(df: pd.DataFrame, real: pa.Table) -> pd.DataFrame:
    df["quantity"] = df["quantity"].astype("float64")
    return df


def _out_of_range(df: pd.DataFrame, real: pa.Table) -> pd.DataFrame:
    df.loc[df.index[7], "amount"] = 10_000.0
    return df


def _unseen(df: pd.DataFrame, real: pa.Table) -> pd.DataFrame:
    df.loc[df.index[:5], "segment"] = "vip"
    return df


def _copies(df: pd.DataFrame, real: pa.Table) -> pd.DataFrame:
    """30 rows whose learned values are a real row's (ids and pii stay synthetic)."""
    real_rows = to_pandas(real.slice(100, 30))
    for name in ["amount", "quantity", "segment", "region", "is_member", "created_at", "birth_date",
                 "always_null"]:
        df.loc[df.index[:30], name] = real_rows[name].to_numpy()
    return df


DAMAGE = {
    "shifted distribution": (_shift, "column 'amount': expect_column_distribution_to_match_reference"),
    "injected nulls": (_nulls, "column 'segment': expect_column_values_to_not_be_null"),
    "wrong dtype": (_dtype, "column 'quantity': expect_column_type_to_match_reference"),
    "out-of-range value": (_out_of_range, "column 'amount': expect_column_values_to_be_between"),
    "unseen category": (_unseen, "column 'segment': expect_column_values_to_be_in_set"),
    "copied real rows": (_copies, "table: expect_no_rows_copied_from_training"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_each_damage_fails_exactly_its_expectation(damage, good, mixed_table, gate_model_dir):
    spoil, expected = DAMAGE[damage]
    line = only_failure(validate_synthetic(spoil(good, mixed_table), model_dir=gate_model_dir,
                                           expected_rows=ROWS))
    assert line.startswith(expected), line
    assert "observed" in line and "vs allowed" in line


def test_wrong_row_count_fails_only_the_row_count(good, gate_model_dir):
    line = only_failure(validate_synthetic(good.iloc[:1_900], model_dir=gate_model_dir, expected_rows=ROWS))
    assert line == ("table: expect_table_row_count_to_be_between: observed 1900 vs allowed "
                    "min_value=2000, max_value=2000")


def test_a_broken_correlation_fails_the_pair_expectation(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.normal(size=3_000)
    real = pd.DataFrame({"x": x, "y": 2 * x + rng.normal(scale=0.3, size=3_000)})
    model = synth_ray.fit(real, seed=0)
    folder = synth_ray.save(model, tmp_path / "pair")
    fake = model.sample(3_000, seed=5)
    assert validate_synthetic(fake, model_dir=folder).success
    fake["y"] = fake["y"].sample(frac=1.0, random_state=0).to_numpy()  # same marginal, no correlation
    line = only_failure(validate_synthetic(fake, model_dir=folder))
    assert line.startswith("columns 'x' and 'y': expect_column_pair_association_to_match_reference")


def test_the_suite_is_reviewable_json_and_an_edited_threshold_is_obeyed(good, gate_model_dir, tmp_path):
    suite = build_suite(model_dir=gate_model_dir, expected_rows=ROWS)
    kinds = {e.expectation_type for e in suite.expectations}
    assert {"expect_table_columns_to_match_set", "expect_table_row_count_to_be_between",
            "expect_column_values_to_not_be_null", "expect_column_values_to_be_in_set",
            "expect_column_values_to_be_between", "expect_column_values_to_be_unique",
            "expect_column_values_to_match_regex", "expect_column_type_to_match_reference",
            "expect_column_proportion_of_non_null_values_to_be_between",
            "expect_column_values_to_be_null", "expect_column_distribution_to_match_reference",
            "expect_no_rows_copied_from_training"} <= kinds
    path = save_suite(suite, tmp_path / "orders.suite.json")
    document = json.loads(path.read_text())
    for expectation in document["expectations"]:
        if expectation["type"] == "expect_column_distribution_to_match_reference" and \
                expectation["kwargs"]["column"] == "quantity":
            expectation["kwargs"]["threshold"] = 0.0
    path.write_text(json.dumps(document))
    line = only_failure(validate_synthetic(good, model_dir=gate_model_dir, suite_path=path))
    assert line.startswith("column 'quantity': expect_column_distribution_to_match_reference")


def test_a_missing_suite_file_is_written_for_review(gate_fake, gate_model_dir, tmp_path):
    path = tmp_path / "review" / "orders.suite.json"
    assert validate_synthetic(gate_fake, model_dir=gate_model_dir, suite_path=path).success
    assert json.loads(path.read_text())["name"] == "synth_ray.orders"


def test_delta_table_with_a_file_project_renders_data_docs(gate_fake, mixed_model, gate_model_dir, tmp_path):
    from synth_ray.lakehouse.writers import write_table

    table = tmp_path / "lake" / "orders_synth"
    write_table([gate_fake], schema=gate_fake.schema, path=table, format="delta")
    project = tmp_path / "gx_project"
    result = validate_synthetic(table, model_dir=gate_model_dir, expected_rows=ROWS, gx_project_dir=project)
    assert result.success, result.summary
    docs = list(project.glob("**/data_docs/local_site/index.html"))
    assert docs and "Data Docs:" in result.summary
    assert list(project.glob("**/validations/**/*.json"))  # the result is kept in the project


def test_thresholds_reject_unknown_keys_by_name():
    assert GateThresholds.from_mapping({"max_ks": 0.2}).max_ks == 0.2
    with pytest.raises(ConfigError, match="'max_kss'.*did you mean 'max_ks'"):
        GateThresholds.from_mapping({"max_kss": 0.2})
    with pytest.raises(ConfigError, match="max_tv"):
        GateThresholds(max_tv=1.5)


def test_a_model_without_reference_profile_still_loads_but_cannot_be_gated(mixed_model, good, tmp_path):
    old = synth_ray.Synthesizer(metadata=mixed_model.metadata, transformer=mixed_model.transformer,
                                generator=mixed_model.generator, training=mixed_model.training)
    folder = synth_ray.save(old, tmp_path / "old")
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "model.json",
                                                        "tensors.safetensors"]
    assert synth_ray.load(folder).reference is None
    with pytest.raises(ArtifactError, match="no reference profile.*refit"):
        validate_synthetic(good, model_dir=folder)


def test_the_profile_keeps_hashes_never_raw_rows(gate_model_dir, mixed_table):
    text = (gate_model_dir / "reference_profile.json").read_text()
    assert "person0@example.org" not in text and "CUST-000000" not in text
    profile = synth_ray.load(gate_model_dir).reference
    assert profile.row_hashes.hashes.dtype == np.uint64
    assert len(profile.row_hashes.hashes) == mixed_table.num_rows


def test_summaries_merge_and_agree_with_the_evaluation_metrics(mixed_model, mixed_table, gate_fake):
    from synth_ray.evaluation.column_shapes import ks_complement
    from synth_ray.evaluation.pair_trends import cramers_v
    from synth_ray.reference_profile import continuous_values, pair_codes

    profile = mixed_model.reference
    whole = summarize(gate_fake, profile)
    parts = summarize(gate_fake.slice(0, 700), profile) + summarize(gate_fake.slice(700), profile)
    merged = BatchSummary.from_json(parts.to_json())
    assert ks_distance(merged, "amount", profile) == ks_distance(whole, "amount", profile)
    assert merged.copies == whole.copies == 0 and merged.rows == ROWS
    # quantity has fewer distinct values than the sketch has points: the KS is exact
    real_q = continuous_values(mixed_table.column("quantity"), "quantity")
    fake_q = continuous_values(gate_fake.column("quantity"), "quantity")
    assert ks_distance(whole, "quantity", profile) == pytest.approx(1 - ks_complement(real_q, fake_q))
    assert tv_distance(summarize(mixed_table, profile), "segment", profile) == pytest.approx(0.0)
    pair = profile.pairs[0]
    codes = [pair_codes(gate_fake.column(n), n, profile.columns[n]) for n in (pair.first, pair.second)]
    assert association(whole, pair.first, pair.second, pair.metric) == pytest.approx(cramers_v(*codes))


def test_cli_validate_exit_codes_and_summary(gate_fake, gate_model_dir, tmp_path, capsys):
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from synth_ray.cli.main import main

    good_path, bad_path = tmp_path / "good.parquet", tmp_path / "bad.parquet"
    pq.write_table(gate_fake, good_path)
    segment = gate_fake.column("segment")
    spoiled = pc.if_else(pc.equal(pc.cast(segment, pa.string()), "pro"), "vip", segment)
    pq.write_table(gate_fake.set_column(gate_fake.schema.get_field_index("segment"), "segment",
                                         spoiled), bad_path)
    assert main(["validate", str(good_path), "--model", str(gate_model_dir), "--rows", str(ROWS)]) == 0
    assert "PASSED" in capsys.readouterr().out
    report = tmp_path / "gate.json"
    code = main(["validate", str(bad_path), "--model", str(gate_model_dir), "--json", str(report)])
    out = capsys.readouterr().out
    assert code == 4
    assert "FAIL  column 'segment': expect_column_values_to_be_in_set" in out
    assert "FAIL  column 'segment': expect_column_distribution_to_match_reference" in out  # 30% moved
    assert json.loads(report.read_text())["success"] is False
    assert main(["validate", str(good_path), "--model", str(tmp_path / "nope")]) == 3


def test_core_and_gate_import_without_great_expectations():
    code = ("import sys; import synth_ray, expectations, synth_ray.cli.main; "
            "assert 'great_expectations' not in sys.modules, 'imported eagerly'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_gx_names_the_extra(monkeypatch, good, gate_model_dir):
    monkeypatch.setitem(sys.modules, "great_expectations", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'synth-ray\[gx\]'"):
        validate_synthetic(good, model_dir=gate_model_dir)
