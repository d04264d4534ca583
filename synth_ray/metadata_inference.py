"""Inferring each column's kind and statistics from a table.

The rules (documented in the README, in this order; a table spec always wins):

1. Arrow ``bool`` -> boolean; ``timestamp``/``date`` -> datetime; ``dictionary`` -> categorical.
2. Integers and strings that are unique, non-null, and either named like a key
   (``id``, ``*_id``, ``*Id``, ``uuid``, ``key``, R's ``rownames``) or shaped like UUIDs -> id
   (an integer key only when its type holds a sampling chunk's keys from its start: an
   int8 or int16 key, or one starting near its type's maximum, is numerical).
3. Strings: >= 90% e-mail addresses -> pii/email; named like a phone (``phone``, ``mobile``,
   ``tel``, ``fax``) or >= 90% phone-shaped -> pii/phone; named like a person's name
   (``name``, ``first_name``, ``surname``...) -> pii/person_name; named like an address
   (``address``, ``street``) -> pii/address; mostly distinct and long with spaces -> pii/text;
   anything else -> categorical.
4. Integers and floats -> numerical; integers have 0 decimals, floats the fewest decimals
   (0-10) that represent every value, else ``None`` (full precision).
5. A column whose values are all null keeps its type and is generated all null.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synth_ray.config_checks import unknown_name_message
from synth_ray.errors import ConfigError, DataError
from synth_ray.metadata import ColumnKind, ColumnMetadata, PiiType, TableMetadata
from synth_ray.table_input import check_supported_types
from synth_ray.table_spec import ColumnSpec, TableSpec
from synth_ray.transforms.identifier import holds_chunk_of_keys

__all__ = ["infer_metadata"]

_ID_NAME = re.compile(r"^(id|key|uuid|guid|rownames)$|_(id|key|uuid|guid)$", re.IGNORECASE)
_ID_CAMEL = re.compile(r"[a-z0-9](Id|ID)$")  # orderId, customerID (case matters: not "paid")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE_VALUE = re.compile(r"^\+?[\d\s().-]{7,20}$")
_PHONE_NAME = re.compile(r"(^|_)(phone|mobile|tel|telephone|fax|cell)(_|$)", re.IGNORECASE)
_PERSON_NAME = re.compile(
    r"^(name|(first|last|full|given|family|middle|customer|contact|person|user)_?name|surname)$",
    re.IGNORECASE,
)
_ADDRESS_NAME = re.compile(r"(^|_)(address|street|addr)(_|$)", re.IGNORECASE)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_PROBE_ROWS = 10_000  # rows looked at for pattern rules: enough to be sure, cheap on any table
_MAX_DECIMALS = 10


def infer_metadata(table: pa.Table, *, spec: TableSpec | None = None) -> TableMetadata:
    """Infer every column's metadata from ``table``, then apply ``spec`` on top.

    Raises:
        DataError: the table has no rows.
        ConfigError: the spec names a column the table does not have.
    """
    spec = spec or TableSpec()
    for name in spec.columns:
        if name not in table.column_names:
            raise ConfigError(
                "table spec: " + unknown_name_message(name, table.column_names, what="column")
            )
    if table.num_rows == 0:
        raise DataError(
            "the table has 0 rows: synth-ray needs at least one real row to learn from; "
            "check the input path or filter"
        )
    check_supported_types(table)
    columns = tuple(
        spec.with_rare_threshold(
            _infer_column(f, table.column(f.name).combine_chunks(), spec.columns.get(f.name)))
        for f in table.schema
    )
    return TableMetadata(columns=columns, arrow_schema=table.schema, n_rows=table.num_rows)


def _infer_column(field: pa.Field, values: pa.Array, spec: ColumnSpec | None) -> ColumnMetadata:
    spec = spec or ColumnSpec()
    kind, pii_type = _infer_kind(field, values)
    if spec.kind is not None:
        kind, pii_type = spec.kind, spec.pii_type
        _check_declared_kind(field, kind)
    meta = ColumnMetadata(
        name=field.name,
        kind=kind,
        arrow_type=str(field.type),
        null_fraction=values.null_count / len(values) if len(values) else 0.0,
        pii_type=pii_type,
    )
    meta = _with_statistics(meta, field.type, values)
    overrides = {k: getattr(spec, k) for k in ("min", "max", "decimals") if getattr(spec, k) is not None}
    if meta.kind is ColumnKind.NUMERICAL:
        _check_numeric_bounds(field.name, overrides.get("min", meta.min), overrides.get("max", meta.max))
    return meta.with_changes(**overrides) if overrides else meta


def _is_text(t: pa.DataType) -> bool:
    t = t.value_type if pa.types.is_dictionary(t) else t
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _check_declared_kind(field: pa.Field, kind: ColumnKind) -> None:
    """Refuse an id or pii declaration that the column's type cannot hold (generated values are text)."""
    t = field.type
    if kind is ColumnKind.PII and not _is_text(t):
        raise ConfigError(f"column {field.name!r} is declared pii but holds Arrow type {t}; pii values "
                          "are generated text: cast the column to string, or declare another kind")
    if kind is ColumnKind.ID and not (_is_text(t) or pa.types.is_integer(t)):
        raise ConfigError(f"column {field.name!r} is declared id but holds Arrow type {t}; keys are "
                          "integers or strings: cast the column, or declare another kind")


def _check_numeric_bounds(name: str, lo: object, hi: object) -> None:
    """A numerical column's bounds (a spec's min/max) must be finite numbers with min <= max."""
    for key, value in (("min", lo), ("max", hi)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                  or not np.isfinite(value)):
            raise ConfigError(f"table spec: column {name!r} is numerical, so its {key} must be a finite "
                              f"number, got {value!r}")
    if isinstance(lo, int | float) and isinstance(hi, int | float) and lo > hi:
        raise ConfigError(f"table spec: column {name!r} has min {lo} > max {hi} (the spec's bound, or "
                          "the real column's where the spec gives none); fix the spec's min or max")


def _infer_kind(field: pa.Field, values: pa.Array) -> tuple[ColumnKind, PiiType | None]:
    t = field.type
    if pa.types.is_boolean(t):
        return ColumnKind.BOOLEAN, None
    if pa.types.is_temporal(t) and (pa.types.is_timestamp(t) or pa.types.is_date(t)):
        return ColumnKind.DATETIME, None
    if pa.types.is_dictionary(t) or pa.types.is_null(t):
        return ColumnKind.CATEGORICAL, None
    if pa.types.is_integer(t):
        is_key = (_named_like_key(field.name) and _is_unique_key(values)
                  and holds_chunk_of_keys(t, pc.min(values).as_py()))
        return (ColumnKind.ID, None) if is_key else (ColumnKind.NUMERICAL, None)
    if pa.types.is_floating(t):
        return ColumnKind.NUMERICAL, None
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return _infer_string_kind(field.name, values)
    raise ConfigError(  # pragma: no cover - check_supported_types refuses the rest first
        f"column {field.name!r}: no rule for Arrow type {t}; declare its kind in the table spec"
    )


def _named_like_key(name: str) -> bool:
    return bool(_ID_NAME.search(name) or _ID_CAMEL.search(name))


def _is_unique_key(values: pa.Array) -> bool:
    return values.null_count == 0 and len(pc.unique(values)) == len(values)


def _share(pattern: re.Pattern[str], probe: list[str]) -> float:
    return sum(1 for v in probe if pattern.match(v)) / len(probe) if probe else 0.0


def _infer_string_kind(name: str, values: pa.Array) -> tuple[ColumnKind, PiiType | None]:
    probe = [v for v in values.drop_null().slice(0, _PROBE_ROWS).to_pylist()]
    if _share(_EMAIL, probe) >= 0.9:
        return ColumnKind.PII, PiiType.EMAIL
    unique = _is_unique_key(values)
    if unique and (_named_like_key(name) or (probe and _share(_UUID, probe) >= 0.99)):
        return ColumnKind.ID, None
    if _PHONE_NAME.search(name) or _share(_PHONE_VALUE, probe) >= 0.9:
        return ColumnKind.PII, PiiType.PHONE
    if _PERSON_NAME.match(name):
        return ColumnKind.PII, PiiType.PERSON_NAME
    if _ADDRESS_NAME.search(name):
        return ColumnKind.PII, PiiType.ADDRESS
    if probe:
        distinct = len(set(probe)) / len(probe)
        mean_len = sum(len(v) for v in probe) / len(probe)
        spaced = sum(1 for v in probe if " " in v) / len(probe)
        if distinct > 0.5 and mean_len >= 30 and spaced >= 0.8:
            return ColumnKind.PII, PiiType.TEXT
    return ColumnKind.CATEGORICAL, None


def _with_statistics(meta: ColumnMetadata, t: pa.DataType, values: pa.Array) -> ColumnMetadata:
    non_null = values.drop_null()
    if meta.kind is ColumnKind.NUMERICAL:
        if not (pa.types.is_integer(t) or pa.types.is_floating(t)):
            raise ConfigError(
                f"column {meta.name!r} is declared numerical but holds Arrow type {t}; "
                "cast it to a number first, or declare it categorical"
            )
        if len(non_null) == 0:
            return meta
        lo, hi = (pc.min_max(non_null)[k].as_py() for k in ("min", "max"))
        decimals = 0 if pa.types.is_integer(t) else _infer_decimals(non_null)
        return meta.with_changes(min=lo, max=hi, decimals=decimals)
    if meta.kind is ColumnKind.DATETIME:
        return _datetime_statistics(meta, t, non_null)
    if meta.kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN):
        return meta.with_changes(n_categories=len(pc.unique(non_null)))
    return meta


def _datetime_statistics(meta: ColumnMetadata, t: pa.DataType, non_null: pa.Array) -> ColumnMetadata:
    if not pa.types.is_temporal(t):
        raise ConfigError(
            f"column {meta.name!r} is declared datetime but holds Arrow type {t}; parse it first, "
            f"e.g. df[{meta.name!r}] = pandas.to_datetime(df[{meta.name!r}])"
        )
    unit = "D" if pa.types.is_date(t) else t.unit
    tz = None if pa.types.is_date(t) else t.tz
    if len(non_null) == 0:
        return meta.with_changes(unit=unit, timezone=tz)
    lo, hi = (_iso(pc.min_max(non_null)[k]) for k in ("min", "max"))
    return meta.with_changes(unit=unit, timezone=tz, min=lo, max=hi)


def _iso(value: pa.Scalar) -> str:
    """ISO-8601 text of a date or timestamp; in UTC when its local time leaves years 1-9999.

    9999-12-31T23:00Z is year 10000 in Kolkata, which Python's datetime cannot hold.
    """
    try:
        return str(value.as_py().isoformat())
    except (OverflowError, ValueError):
        utc = value.cast(pa.timestamp(value.type.unit)).as_py()  # the same instant, naive UTC
        return f"{utc.isoformat()}+00:00"


def _infer_decimals(values: pa.Array) -> int | None:
    x = values.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    if len(x) > _PROBE_ROWS * 10:
        x = x[:: len(x) // (_PROBE_ROWS * 10)]
    for d in range(_MAX_DECIMALS + 1):
        if np.array_equal(np.round(x, d), x):  # exact: the nearest double to a d-decimal
            return d
    return None
