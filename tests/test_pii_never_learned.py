"""pii columns are never learned: no real e-mail, name, phone or address leaves the fit.

The real table is made here, by hand, so that every real pii value carries a marker no
fake value can contain: made-up names, streets, cities and an e-mail domain built from
syllables with ``xq`` in them (no Faker locale has such a name), and random phone
digits. Each model (the copula; CTGAN and TVAE with a few epochs) is fitted on it, a
large sample is drawn, and neither the sample nor the saved artifact's bytes may hold
a real value, or even the marker.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import synth_ray
from synth_ray.metadata import ColumnKind, PiiType

REAL_ROWS = 400
MARKER = "xq"
PII = {"email": PiiType.EMAIL, "full_name": PiiType.PERSON_NAME, "phone": PiiType.PHONE,
       "address": PiiType.ADDRESS}


def _words(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` made-up capitalised words, each with the marker inside (``Borxqel``...)."""
    heads = ["bor", "vel", "tam", "quin", "dar", "mol", "zen", "rak", "fio", "gul"]
    tails = ["el", "ana", "ith", "ov", "ur", "emy", "ax", "olde", "is", "unn"]
    return [(rng.choice(heads) + MARKER + rng.choice(tails)).capitalize() for _ in range(n)]


def real_table(rows: int = REAL_ROWS, seed: int = 0) -> pa.Table:
    """Customers with pii columns of four types and three learned columns."""
    rng = np.random.default_rng(seed)
    first, last = _words(rng, rows), _words(rng, rows)
    streets, cities = _words(rng, rows), _words(rng, rows)
    digits = rng.integers(0, 10, size=(rows, 10))
    return pa.table({
        "full_name": [f"{f} {g}" for f, g in zip(first, last, strict=True)],
        "email": [f"{f.lower()}.{g.lower()}{i}@{MARKER}mail-customers.test"
                  for i, (f, g) in enumerate(zip(first, last, strict=True))],
        "phone": ["({}{}{}) {}{}{}-{}{}{}{}".format(*d) for d in digits],
        "address": [f"{rng.integers(1, 9999)} {s} Road, {c}, ZZ {rng.integers(10000, 99999)}"
                    for s, c in zip(streets, cities, strict=True)],
        "amount": np.round(rng.gamma(2.0, 40.0, rows), 2),
        "segment": rng.choice(["retail", "pro", "enterprise"], rows, p=[0.6, 0.3, 0.1]),
        "visits": rng.poisson(4, rows).astype(np.int64),
    })


@pytest.fixture(scope="module")
def real() -> pa.Table:
    return real_table()


MODELS = {
    "copula": ({}, 200_000),
    "ctgan": ({"epochs": 2, "batch_size": 100, "threads": 1}, 50_000),
    "tvae": ({"epochs": 2, "batch_size": 100, "threads": 1}, 50_000),
}


def assert_no_real_pii(sample: pa.Table, real: pa.Table) -> None:
    for name in PII:
        column = sample.column(name)
        assert column.null_count == 0 and pc.min(pc.utf8_length(column)).as_py() > 0, name
        leaked = pc.is_in(column, value_set=real.column(name).combine_chunks())
        assert pc.sum(leaked).as_py() == 0, (name, pc.filter(column, leaked).to_pylist()[:5])
        marked = pc.match_substring(column, MARKER, ignore_case=True)
        assert pc.sum(marked).as_py() == 0, (name, pc.filter(column, marked).to_pylist()[:5])


def _text(content: bytes, suffix: str) -> bytes:
    """The text of an artifact file: JSON whole, safetensors its JSON header (the rest is numbers)."""
    if suffix == ".safetensors":
        return content[8:8 + int.from_bytes(content[:8], "little")]
    return content


def assert_artifact_holds_no_pii(folder: Path, real: pa.Table) -> None:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    assert {p.suffix for p in files} == {".json", ".safetensors"}, files
    blob = b"".join(p.read_bytes() for p in files)
    for name in PII:  # whole values, anywhere (a value of 10+ characters cannot appear by chance)
        for value in real.column(name).to_pylist():
            assert value.encode() not in blob, (name, value)
    # The marker, in every text the artifact holds (two bytes do occur by chance among floats).
    text = b"".join(_text(p.read_bytes(), p.suffix) for p in files)
    assert len(text) > 1_000 and MARKER.encode() not in text.lower()


@pytest.mark.parametrize("kind", list(MODELS))
def test_no_real_pii_value_is_sampled_or_saved(kind, real, tmp_path):
    options, rows = MODELS[kind]
    model = synth_ray.fit(real, model=kind, options=options or None, seed=0)
    for name, pii_type in PII.items():
        column = model.metadata[name]
        assert (column.kind, column.pii_type) == (ColumnKind.PII, pii_type), name
    sample = model.sample_arrow(rows, seed=1)
    assert sample.num_rows == rows
    assert_no_real_pii(sample, real)
    # The fake values still have the real shapes: e-mail addresses, the real phone format.
    assert pc.all(pc.match_substring_regex(sample.column("email"), r"^[^@\s]+@[^@\s]+\.[a-z]+$")).as_py()
    assert pc.all(pc.match_substring_regex(sample.column("phone"), r"^\(\d{3}\) \d{3}-\d{4}$")).as_py()
    assert pc.count_distinct(sample.column("full_name")).as_py() > 1_000
    folder = synth_ray.save(model, tmp_path / kind)
    assert_artifact_holds_no_pii(folder, real)
    again = synth_ray.load(folder).sample_rows(0, 2_000, seed=1)  # the loaded model: the same rows
    assert again.equals(sample.slice(0, 2_000))


def test_the_checks_catch_a_name_column_that_is_learned(tmp_path):
    """The same checks fail when a pii column is learned as a category: they can fail.

    20 customers with 20 rows each, so that every name is frequent enough for a learned
    category to emit it (rare-category protection withholds categories of few rows).
    """
    frequent = real_table(20).take(pa.array(np.repeat(np.arange(20), 20)))
    model = synth_ray.fit(frequent, spec={"columns": {"full_name": {"kind": "categorical"}}}, seed=0)
    with pytest.raises(AssertionError, match="full_name"):
        assert_no_real_pii(model.sample_arrow(5_000, seed=1), frequent)
    with pytest.raises(AssertionError, match="full_name"):
        assert_artifact_holds_no_pii(synth_ray.save(model, tmp_path / "learned"), frequent)
