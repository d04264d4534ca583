"""The fit-time reference profile: what a quality gate needs to know of the real table.

A synthetic table is judged against the real one it imitates, but the gate must not
need the real data: it runs where only the model artifact travels. So, while fitting,
synth-ray condenses the real table into statistics and keeps them in the artifact:

* per learned column: its null fraction; for numerical and datetime columns (as float
  seconds since the epoch) a quantile sketch ``points``/``cdf`` (the real empirical CDF
  evaluated at up to 201 of its own quantiles, exact at atoms) with the mean, standard
  deviation and decile edges; for categorical and boolean columns each category's
  share (raw values, so a value set can be checked; the 10,000 most frequent), after
  rare-category protection: a value seen in fewer than ``k`` real rows is not in the
  profile, its rows count as the placeholder ``_RARE_`` (text) or the mode (other types);
* the most associated column pairs (up to 10 with a strength of at least 0.1, measured
  on a seeded sample of 100,000 rows): Pearson's r for two continuous columns, else
  Cramér's V over the categories and the real decile bins, with nulls as a category;
* salted 64-bit hashes of the real rows over the learned columns, so that a copied row
  can be recognised. Never the raw values: a hash answers "is this exact row in the
  training table?" for someone who already has the row, and nothing else. The salt is
  random per fit, so hashes of two artifacts cannot be joined.

Ids and pii columns are regenerated, never learned, so they take no part in the
distributions, pairs or row hashes (their formats are checked from the metadata). The
profile is two files of the model directory: ``reference_profile.json`` (readable) and
``reference_hashes.safetensors`` (the sorted hashes).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synth_ray.errors import ArtifactError
from synth_ray.metadata import ColumnKind, ColumnMetadata, PiiType, TableMetadata
from synth_ray.transforms.categorical import CategoricalTransform, count_categories

__all__ = [
    "HASHES_FILE",
    "PROFILE_FILE",
    "CategoricalReference",
    "ColumnReference",
    "ContinuousReference",
    "PairReference",
    "ReferenceProfile",
    "RowHashReference",
    "build_reference_profile",
    "category_label",
    "continuous_values",
    "pii_pattern",
    "salt_hashes",
]

PROFILE_FILE = "reference_profile.json"
HASHES_FILE = "reference_hashes.safetensors"
PROFILE_VERSION = 1
QUANTILE_POINTS = 201
MAX_CATEGORIES = 10_000
PAIR_SAMPLE_ROWS = 100_000
MAX_PAIRS = 10
MIN_PAIR_STRENGTH = 0.1  # weaker real associations are mostly sampling noise: not worth a check
MAX_HASHED_ROWS = 5_000_000
_DECILES = np.linspace(0.1, 0.9, 9)
_CONTINUOUS = frozenset({ColumnKind.NUMERICAL, ColumnKind.DATETIME})
_DISCRETE = frozenset({ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN})
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)

_PII_PATTERNS = {
    PiiType.EMAIL: r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
    PiiType.PERSON_NAME: r"^\S(?:.*\S)?$",
    PiiType.ADDRESS: r"\S",
    PiiType.TEXT: r"\S",
}


@dataclass(frozen=True)
class ContinuousReference:
    """A numerical or datetime column's real distribution (datetimes as epoch seconds).

    Attributes:
        points: increasing values at which the real CDF is known.
        cdf: share of real non-null values ``<=`` each point.
        bins: interior decile edges, to bin the column for Cramér's V.
        mean: mean of the real values (centres the pair moments).
        std: their standard deviation (scales them; 1 when constant).
    """

    points: tuple[float, ...]
    cdf: tuple[float, ...]
    bins: tuple[float, ...]
    mean: float
    std: float


@dataclass(frozen=True)
class CategoricalReference:
    """A categorical or boolean column's real category shares.

    Attributes:
        values: the categories, most frequent first, as JSON values (str, int, float, bool).
        shares: share of the real non-null values in each category.
        complete: whether ``values`` holds every real category (at most 10,000 are kept).
    """

    values: tuple[Any, ...]
    shares: tuple[float, ...]
    complete: bool = True

    @property
    def labels(self) -> tuple[str, ...]:
        """Each category as the canonical text the gate compares."""
        return tuple(category_label(v) for v in self.values)


@dataclass(frozen=True)
class ColumnReference:
    """One column of the profile.

    Attributes:
        kind: the column's kind.
        null_fraction: share of nulls in the real column.
        continuous: numerical/datetime only.
        categorical: categorical/boolean only.
        pattern: pii only: a regular expression every synthetic value must match.
    """

    kind: ColumnKind
    null_fraction: float
    continuous: ContinuousReference | None = None
    categorical: CategoricalReference | None = None
    pattern: str | None = None


@dataclass(frozen=True)
class PairReference:
    """The real association of one column pair.

    Attributes:
        first: first column.
        second: second column.
        metric: ``pearson`` (two continuous columns) or ``cramers_v``.
        real: the statistic on the real sample.
    """

    first: str
    second: str
    metric: str
    real: float


@dataclass(frozen=True)
class RowHashReference:
    """Salted hashes of the real training rows (never their values).

    Attributes:
        columns: the learned columns a row is hashed over, in order.
        types: each column's real Arrow type (synthetic values are cast to it first).
        salt: 32 hex digits, random per fit.
        hashes: sorted unique uint64 hashes.
        coverage: share of the training rows hashed (1 unless the table has more than
            5,000,000 rows, then a seeded uniform sample).
    """

    columns: tuple[str, ...]
    types: tuple[str, ...]
    salt: str
    hashes: np.ndarray = field(repr=False, compare=False)
    coverage: float = 1.0


@dataclass(frozen=True)
class ReferenceProfile:
    """Everything the quality gate compares a synthetic table with.

    Attributes:
        rows: rows of the real table.
        columns: one reference per column, by name, in the table's order.
        pairs: the most associated column pairs.
        row_hashes: hashes of the real rows (``None`` when no column is learned).
        arrow_schema: the real table's schema (types of the hashed columns).
    """

    rows: int
    columns: Mapping[str, ColumnReference]
    pairs: tuple[PairReference, ...]
    row_hashes: RowHashReference | None
    arrow_schema: pa.Schema = field(repr=False, compare=False)

    @property
    def digest(self) -> str:
        """A sha256 of the profile's JSON: names this reference in a suite."""
        return hashlib.sha256(self._json_bytes()).hexdigest()

    def _json_bytes(self) -> bytes:
        return json.dumps(self._document(), ensure_ascii=False, indent=1).encode("utf-8")

    def _document(self) -> dict[str, Any]:
        hashes = self.row_hashes
        return {
            "version": PROFILE_VERSION,
            "rows": self.rows,
            "columns": {name: _drop_none(asdict(c)) for name, c in self.columns.items()},
            "pairs": [asdict(p) for p in self.pairs],
            "row_hashes": None if hashes is None else {
                "columns": list(hashes.columns), "types": list(hashes.types), "salt": hashes.salt,
                "count": len(hashes.hashes), "coverage": hashes.coverage},
        }

    def to_files(self) -> dict[str, bytes]:
        """The profile's two artifact files, as bytes."""
        from safetensors.numpy import save

        hashes = self.row_hashes.hashes if self.row_hashes is not None else np.zeros(0, np.uint64)
        return {PROFILE_FILE: self._json_bytes(),
                HASHES_FILE: save({"row_hashes": np.ascontiguousarray(hashes, dtype=np.uint64)})}

    @classmethod
    def from_files(cls, profile: bytes, hashes: bytes, *, schema: pa.Schema) -> ReferenceProfile:
        """Inverse of :meth:`to_files` (``schema`` is the model's real schema).

        Raises:
            ArtifactError: a malformed or newer profile.
        """
        from safetensors.numpy import load

        try:
            document = json.loads(profile)
            if document.get("version") != PROFILE_VERSION:
                raise ArtifactError(f"reference profile version {document.get('version')!r} is not "
                                    f"{PROFILE_VERSION}: upgrade synth-ray or refit the model")
            return cls(rows=int(document["rows"]),
                       columns={n: _column_from_dict(c) for n, c in document["columns"].items()},
                       pairs=tuple(PairReference(**p) for p in document["pairs"]),
                       row_hashes=_hashes_from_dict(document["row_hashes"], load(hashes)),
                       arrow_schema=schema)
        except (ValueError, KeyError, TypeError) as exc:
            raise ArtifactError(f"the reference profile is malformed ({type(exc).__name__}: {exc}); "
                                "refit the model") from None


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.value if isinstance(v, ColumnKind) else v) for k, v in data.items() if v is not None}


def _column_from_dict(data: Mapping[str, Any]) -> ColumnReference:
    cont, cat = data.get("continuous"), data.get("categorical")
    return ColumnReference(
        kind=ColumnKind(data["kind"]), null_fraction=float(data["null_fraction"]),
        continuous=None if cont is None else ContinuousReference(
            points=tuple(cont["points"]), cdf=tuple(cont["cdf"]), bins=tuple(cont["bins"]),
            mean=float(cont["mean"]), std=float(cont["std"])),
        categorical=None if cat is None else CategoricalReference(
            values=tuple(cat["values"]), shares=tuple(cat["shares"]), complete=cat["complete"]),
        pattern=data.get("pattern"))


def _hashes_from_dict(data: Mapping[str, Any] | None,
                      arrays: Mapping[str, np.ndarray]) -> RowHashReference | None:
    if data is None:
        return None
    hashes = np.asarray(arrays["row_hashes"], dtype=np.uint64)
    if len(hashes) != data["count"]:
        raise ValueError(f"{len(hashes)} row hashes stored, the profile says {data['count']}")
    return RowHashReference(columns=tuple(data["columns"]), types=tuple(data["types"]),
                            salt=str(data["salt"]), hashes=hashes, coverage=float(data["coverage"]))


def category_label(value: Any) -> str:
    """A category as canonical text: booleans ``true``/``false``, whole floats as integers."""
    from synth_ray.evaluation.encoding import _label

    return _label(value)


def continuous_values(values: pa.ChunkedArray | pa.Array, name: str) -> np.ndarray:
    """A numerical or datetime column as float64 (datetimes: epoch seconds), NaN for null."""
    from synth_ray.evaluation.encoding import _to_float

    if isinstance(values, pa.Array):
        values = pa.chunked_array([values])
    return _to_float(values, name)


def pii_pattern(pii_type: PiiType, *, phone_mask: str | None = None) -> str:
    """The regular expression every value of a pii column of ``pii_type`` matches."""
    if pii_type is PiiType.PHONE:
        from synth_ray.fake_values import DEFAULT_PHONE_MASK

        mask = phone_mask or DEFAULT_PHONE_MASK
        return "^" + "".join(r"\d" if ch == "#" else _escape(ch) for ch in mask) + "$"
    return _PII_PATTERNS[pii_type]


def _escape(ch: str) -> str:
    return "\\" + ch if ch in r".^$*+?{}[]\|()-" else ch


def _salt_words(salt: str) -> tuple[np.uint64, np.uint64]:
    raw = bytes.fromhex(salt)
    return (np.frombuffer(raw[:8], dtype="<u8")[0], np.frombuffer(raw[8:16], dtype="<u8")[0])


def salt_hashes(hashes: np.ndarray, salt: str) -> np.ndarray:
    """Row hashes keyed by ``salt`` (two rounds of the splitmix64 finalizer)."""
    k1, k2 = _salt_words(salt)
    h = np.asarray(hashes, dtype=np.uint64) ^ k1
    with np.errstate(over="ignore"):
        for key in (k2, k1):
            h = (h ^ (h >> np.uint64(30))) * _M1
            h = (h ^ (h >> np.uint64(27))) * _M2
            h = h ^ (h >> np.uint64(31)) ^ key
    return h


def _continuous_reference(values: np.ndarray) -> ContinuousReference | None:
    present = np.sort(values[~np.isnan(values)])
    if len(present) == 0:
        return None
    points = np.unique(np.quantile(present, np.linspace(0.0, 1.0, QUANTILE_POINTS)))
    cdf = np.searchsorted(present, points, side="right") / len(present)
    std = float(present.std())
    return ContinuousReference(points=tuple(float(p) for p in points),
                               cdf=tuple(float(c) for c in cdf),
                               bins=tuple(float(b) for b in np.unique(np.quantile(present, _DECILES))),
                               mean=float(present.mean()), std=std if std > 0 else 1.0)


def _category_transform(values: pa.ChunkedArray, col: ColumnMetadata,
                        counts: Sequence[tuple[Any, int]] | None) -> CategoricalTransform:
    """The column's categories as a fit emits them: rare ones protected the same way."""
    value_type = values.type.value_type if pa.types.is_dictionary(values.type) else values.type
    return CategoricalTransform.from_counts(
        name=col.name, arrow_type=value_type, nullable=values.null_count > 0,
        counts=count_categories(values) if counts is None else counts,
        rare_threshold=col.rare_category_threshold)


def _categorical_reference(transform: CategoricalTransform) -> CategoricalReference | None:
    total = float(sum(transform.counts))
    if not transform.categories or total == 0:
        return None
    kept = range(min(len(transform.categories), MAX_CATEGORIES))
    return CategoricalReference(values=tuple(_json_value(transform.categories[i]) for i in kept),
                                shares=tuple(transform.counts[i] / total for i in kept),
                                complete=len(kept) == len(transform.categories))


def _json_value(value: Any) -> Any:
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _column_reference(table: pa.Table, col: ColumnMetadata, phone_mask: str | None,
                      transform: CategoricalTransform | None) -> ColumnReference:
    values = table.column(col.name)
    null_fraction = values.null_count / max(table.num_rows, 1)
    if col.kind in _CONTINUOUS:
        return ColumnReference(kind=col.kind, null_fraction=null_fraction,
                               continuous=_continuous_reference(continuous_values(values, col.name)))
    if transform is not None:
        return ColumnReference(kind=col.kind, null_fraction=null_fraction,
                               categorical=_categorical_reference(transform))
    pii = col.pii_type if col.kind is ColumnKind.PII else None
    pattern = pii_pattern(pii, phone_mask=phone_mask) if pii is not None else None
    return ColumnReference(kind=col.kind, null_fraction=null_fraction, pattern=pattern)


def _phone_mask(values: pa.ChunkedArray) -> str:
    from synth_ray.fake_values import phone_mask_of

    return phone_mask_of(values.drop_null().slice(0, 10_000).cast(pa.string()).to_pylist())


def pair_codes(values: pa.ChunkedArray, name: str, ref: ColumnReference) -> np.ndarray:
    """A column as integer codes for Cramér's V: decile bins or category index; null -1.

    Categories the reference lacks share the code just after the known ones.
    """
    if ref.continuous is not None:
        x = continuous_values(values, name)
        codes = np.searchsorted(np.asarray(ref.continuous.bins), np.nan_to_num(x), side="right")
        return np.where(np.isnan(x), -1, codes).astype(np.int64)
    labels = ref.categorical.labels if ref.categorical is not None else ()
    if pa.types.is_dictionary(values.type):
        values = pc.cast(values, values.type.value_type)
    text = pc.cast(values, pa.string()) if not pa.types.is_boolean(values.type) else pc.if_else(
        values, "true", "false")
    if pa.types.is_floating(values.type):
        text = pa.chunked_array([pa.array([None if v is None else category_label(v)
                                           for v in values.to_pylist()], pa.string())])
    index = pc.index_in(text, value_set=pa.array(labels, pa.string()))
    codes = np.asarray(pc.fill_null(index, len(labels)).to_numpy(zero_copy_only=False), dtype=np.int64)
    nulls = np.asarray(values.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    return np.where(nulls, -1, codes)


def _pair_references(table: pa.Table, columns: Mapping[str, ColumnReference], *,
                     rng: np.random.Generator) -> tuple[PairReference, ...]:
    from synth_ray.evaluation.pair_trends import cramers_v, pearson

    names = [n for n, c in columns.items()
             if c.continuous is not None or c.categorical is not None]
    if table.num_rows > PAIR_SAMPLE_ROWS:
        table = table.take(np.sort(rng.choice(table.num_rows, PAIR_SAMPLE_ROWS, replace=False)))
    scored = []
    for a, b in itertools.combinations(names, 2):
        ra, rb = columns[a], columns[b]
        if ra.continuous is not None and rb.continuous is not None:
            metric = "pearson"
            value = pearson(continuous_values(table.column(a), a), continuous_values(table.column(b), b))
        else:
            metric = "cramers_v"
            value = cramers_v(pair_codes(table.column(a), a, ra), pair_codes(table.column(b), b, rb))
        if not np.isnan(value) and abs(value) >= MIN_PAIR_STRENGTH:
            scored.append(PairReference(first=a, second=b, metric=metric, real=float(value)))
    scored.sort(key=lambda p: -abs(p.real))
    return tuple(scored[:MAX_PAIRS])


def _row_hash_reference(table: pa.Table, names: list[str], *,
                        rng: np.random.Generator) -> RowHashReference | None:
    from synth_ray.evaluation.row_hashes import row_hashes

    if not names or table.num_rows == 0:
        return None
    coverage = min(1.0, MAX_HASHED_ROWS / table.num_rows)
    if coverage < 1.0:
        table = table.take(np.sort(rng.choice(table.num_rows, MAX_HASHED_ROWS, replace=False)))
    salt = secrets.token_hex(16)
    hashes = np.unique(salt_hashes(row_hashes(table, names), salt))
    return RowHashReference(columns=tuple(names), types=tuple(str(table.schema.field(n).type)
                                                               for n in names),
                            salt=salt, hashes=hashes, coverage=coverage)


def build_reference_profile(table: pa.Table, metadata: TableMetadata, *, seed: int,
                            categories: Mapping[str, Sequence[tuple[Any, int]]] | None = None,
                            ) -> ReferenceProfile:
    """Condense the real ``table`` into the statistics the quality gate needs.

    Categorical columns go through rare-category protection exactly as the fit does
    (:func:`synth_ray.transforms.categorical.protect_categories`): their value sets and
    shares hold the placeholder, never a protected value, and pairs are measured on the
    protected values.

    Args:
        table: the real training table (as fitted: Arrow, NaN already null).
        metadata: its column metadata.
        seed: the fit seed; picks the row samples of big tables (pairs, hashes).
        categories: ``(value, count)`` pairs of some discrete columns counted over a
            bigger table than ``table`` (Spark's whole-table counts); the rest are counted here.
    """
    rng = np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(0x9E0F,)))
    columns, protected = {}, table
    for col in metadata:
        values = table.column(col.name)
        mask = _phone_mask(values) if col.pii_type is PiiType.PHONE else None
        transform = None
        if col.kind in _DISCRETE and values.null_count < len(values):
            transform = _category_transform(values, col, (categories or {}).get(col.name))
            protected = protected.set_column(protected.schema.get_field_index(col.name), col.name,
                                             transform.protect(values))
        columns[col.name] = _column_reference(table, col, mask, transform)
    learned = [c.name for c in metadata if c.learned]
    return ReferenceProfile(rows=table.num_rows, columns=columns,
                            pairs=_pair_references(protected, columns, rng=rng),
                            row_hashes=_row_hash_reference(table, learned, rng=rng),
                            arrow_schema=metadata.arrow_schema)
