"""Deterministic, partition-invariant sampling: the contract Ray and Spark build on."""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pytest

import synth_ray
from synth_ray.sampling import sample_chunk

N = 150_000  # three chunks of 65,536: splits cross chunk boundaries


@pytest.fixture(scope="module")
def reference(mixed_model) -> pa.Table:
    return mixed_model.sample_arrow(N, seed=11)


def random_split(n: int, parts: int, rng: np.random.Generator) -> list[int]:
    return sorted({0, n, *rng.integers(0, n, parts - 1).tolist()})


@pytest.mark.parametrize("parts", [1, 2, 7, 23])
def test_any_split_concatenates_to_the_same_table(mixed_model, reference, parts):
    bounds = random_split(N, parts, np.random.default_rng(parts))
    pieces = [mixed_model.sample_rows(a, b, seed=11) for a, b in itertools.pairwise(bounds)]
    assert pa.concat_tables(pieces).equals(reference)


def test_threads_do_not_change_rows(mixed_model, reference):
    assert mixed_model.sample_arrow(N, seed=11, threads=1).equals(reference)
    assert mixed_model.sample_arrow(N, seed=11, threads=3).equals(reference)


def test_prefix_and_streaming_agree(mixed_model, reference):
    assert mixed_model.sample_arrow(1_000, seed=11).equals(reference.slice(0, 1_000))
    streamed = pa.concat_tables(list(mixed_model.iter_batches(N, seed=11)))
    assert streamed.equals(reference)


def test_seeds_change_the_rows(mixed_model, reference):
    other = mixed_model.sample_arrow(1_000, seed=12)
    same = np.mean(np.asarray(other["amount"].to_numpy(zero_copy_only=False))
                   == np.asarray(reference["amount"].slice(0, 1_000).to_numpy(zero_copy_only=False)))
    assert same < 0.05


def test_chunks_depend_only_on_seed_and_index(mixed_model):
    a = sample_chunk(mixed_model, seed=5, chunk_index=3)
    mixed_model.sample_arrow(10, seed=99)  # unrelated work in between
    assert sample_chunk(mixed_model, seed=5, chunk_index=3).equals(a)


def test_ids_unique_across_the_whole_output(reference, mixed_table):
    ids = reference["order_id"].to_numpy()
    assert len(np.unique(ids)) == N
    assert ids.min() == mixed_table["order_id"].to_numpy().min()
    keys = reference["customer_key"].to_pylist()
    assert len(set(keys)) == N and all(k.startswith("CUST-") for k in keys[:100])


def test_pii_is_fake_shaped_and_never_real(reference, mixed_table):
    emails = reference["email"].to_pylist()
    assert all("@" in e and "." in e.split("@")[1] for e in emails[:1000])
    assert not set(emails) & set(mixed_table["email"].to_pylist())
    names = set(reference["full_name"].to_pylist())
    assert not names & set(mixed_table["full_name"].to_pylist())
    assert len(names) > 10_000  # pools combine: not a handful of repeated names
    phones = reference["phone"].to_pylist()[:1000]
    assert all(len(p) == 14 and p[0] == "(" and p[5] == " " and p[9] == "-" for p in phones)


def test_null_rates_and_all_null_columns(reference, mixed_table):
    real_rate = mixed_table["amount"].null_count / len(mixed_table)
    assert reference["amount"].null_count / N == pytest.approx(real_rate, abs=0.01)
    assert reference["always_null"].null_count == N


def test_schema_is_exactly_the_real_one(reference, mixed_table):
    assert reference.schema.equals(mixed_table.schema, check_metadata=True)


def test_zero_rows_is_an_empty_table_with_the_schema(mixed_model, mixed_table):
    empty = mixed_model.sample_arrow(0, seed=1)
    assert empty.num_rows == 0 and empty.schema.equals(mixed_table.schema)


@pytest.mark.parametrize("rows", [-5, 2.5, True])
def test_bad_row_counts_are_refused(mixed_model, rows):
    with pytest.raises(synth_ray.SamplingError, match="non-negative integer"):
        mixed_model.sample_arrow(rows, seed=1)


def test_bad_seed_and_range_are_refused(mixed_model):
    with pytest.raises(synth_ray.SamplingError, match="seed"):
        mixed_model.sample_arrow(10, seed=-1)
    with pytest.raises(synth_ray.SamplingError, match="row range"):
        mixed_model.sample_rows(10, 5, seed=1)
