"""Table configs: one YAML file per synthetic table, validated into frozen dataclasses.

A config says where the real table is, how to learn it, how many rows to sample with
which engine and seed, where to publish them, when to run and when to refit. It is
read with ``yaml.safe_load`` (a config can never run code) and checked completely on
load: every error names the file and the key (``diamonds.yaml: source.format: ...``),
and an unknown key is refused with the nearest valid one.

Relative paths resolve against ``SYNTH_RAY_HOME`` when it is set, else against the
current directory, so the same config works from ``airflow dags test``, a scheduler
and the tests. Where ``SYNTH_RAY_ALLOWED_ROOTS`` is set (by whoever runs the scheduler,
not by the config), everything a config writes must resolve inside one of those folders.
"""

from __future__ import annotations

import datetime as dt
import enum
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synth_ray.config_checks import check_keys, unknown_name_message
from synth_ray.errors import ConfigError

__all__ = [
    "ALLOWED_ROOTS_ENV",
    "CatalogConfig",
    "ModelConfig",
    "RefitPolicy",
    "SeedPolicy",
    "SourceConfig",
    "TableConfig",
    "TargetConfig",
    "allowed_roots",
    "load_table_config",
    "resolve_path",
]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


class _Keyed(enum.StrEnum):
    @classmethod
    def parse(cls, value: Any, where: str) -> Any:
        """The member named ``value``, or a ConfigError naming ``where`` and the valid names."""
        try:
            return cls(value)
        except ValueError:
            raise ConfigError(f"{where}: " + unknown_name_message(str(value), [m.value for m in cls],
                                                                  what="value")) from None


class SourceFormat(_Keyed):
    """Where the real table lives: files (``parquet``, ``csv``, ``delta``) or a catalog table."""

    PARQUET = "parquet"
    CSV = "csv"
    DELTA = "delta"
    ICEBERG = "iceberg"
    SPARK = "spark"


class TargetFormat(_Keyed):
    """How the synthetic table is published: Delta (one commit), Parquet (rename), Iceberg (one snapshot)."""

    DELTA = "delta"
    PARQUET = "parquet"
    ICEBERG = "iceberg"


class Engine(_Keyed):
    """Where work runs: this process, a Ray cluster or a Spark cluster."""

    LOCAL = "local"
    RAY = "ray"
    SPARK = "spark"


class SeedPolicy(_Keyed):
    """``fixed``: every run uses ``seed.value``; ``logical_date``: derived from it and the run's date."""

    FIXED = "fixed"
    LOGICAL_DATE = "logical_date"


class RefitPolicy(_Keyed):
    """``always``; ``on_change`` of the source's fingerprint; ``every_n_runs`` (or on a schema change)."""

    ALWAYS = "always"
    ON_CHANGE = "on_change"
    EVERY_N_RUNS = "every_n_runs"


ALLOWED_ROOTS_ENV = "SYNTH_RAY_ALLOWED_ROOTS"


def allowed_roots(value: str | None = None) -> tuple[Path, ...]:
    """The folders a config may write under: ``value`` or ``$SYNTH_RAY_ALLOWED_ROOTS``.

    Folders are separated by ``os.pathsep`` (``:`` on Linux); relative ones resolve like
    config paths. Empty or unset: no restriction (the default for a single-user machine).
    """
    raw = os.environ.get(ALLOWED_ROOTS_ENV, "") if value is None else value
    return tuple(resolve_path(p).resolve() for p in raw.split(os.pathsep) if p.strip())


def _check_inside_roots(path: Path, roots: tuple[Path, ...], where: str) -> None:
    """Refuse a path that leaves every allowed root (``..`` and symbolic links resolved)."""
    real = path.resolve()
    if roots and not any(real == root or real.is_relative_to(root) for root in roots):
        shown = ", ".join(str(r) for r in roots)
        raise ConfigError(
            f"{where}: {str(path)!r} resolves to {str(real)!r}, outside the allowed root(s) {shown} "
            f"(${ALLOWED_ROOTS_ENV}); write the table under one of them, or ask the operator to add "
            "its folder to the allowed roots")


def resolve_path(value: str | Path) -> Path:
    """``value`` as an absolute path: relative ones resolve against ``SYNTH_RAY_HOME`` or the cwd."""
    path = Path(os.path.expanduser(str(value)))
    base = Path(os.environ.get("SYNTH_RAY_HOME") or os.getcwd())
    return (path if path.is_absolute() else base / path).absolute()


class _Reader:
    """Typed access to one mapping of a config, naming the file and key path in every error."""

    def __init__(self, data: Any, file: Path, prefix: str, allowed: list[str]) -> None:
        check_keys(data, allowed=allowed, where=f"{file}: {prefix.rstrip('.') or 'config'}")
        self.data: Mapping[str, Any] = data
        self.file = file
        self.prefix = prefix

    def where(self, key: str) -> str:
        """``<file>: <section.key>``, the start of every message about ``key``."""
        return f"{self.file}: {self.prefix}{key}"

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.where(key)}: {message}")

    def enum(self, key: str, kind: type[_Keyed], default: str) -> Any:
        return kind.parse(self.data.get(key, default), self.where(key))

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.data.get(key, default)
        if value is None:
            if required:
                raise self.fail(key, "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"must be a non-empty string, got {value!r}")
        return value

    def integer(self, key: str, default: int | None, *, minimum: int = 0,
                required: bool = False) -> int | None:
        value = self.data.get(key, default)
        if value is None:
            if required:
                raise self.fail(key, "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            quoted = " (write the number without quotes)" if isinstance(value, str) and \
                value.strip().isdigit() else ""
            raise self.fail(key, f"must be an integer >= {minimum}, got {value!r}{quoted}")
        return value

    def mapping(self, key: str) -> Mapping[str, Any]:
        value = self.data.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.fail(key, f"must be a mapping, got {type(value).__name__}")
        return value

    def child(self, key: str, allowed: list[str]) -> _Reader:
        return _Reader(self.mapping(key), self.file, f"{self.prefix}{key}.", allowed)


@dataclass(frozen=True, kw_only=True)
class CatalogConfig:
    """A pyiceberg SQL catalog on SQLite: its name, database file and warehouse folder."""

    name: str
    database: Path
    warehouse: Path

    @classmethod
    def read(cls, r: _Reader) -> CatalogConfig:
        """Parse ``catalog: {name, database, warehouse}``."""
        return cls(name=r.text("name", "synth_ray") or "synth_ray",
                   database=resolve_path(r.text("database", required=True) or ""),
                   warehouse=resolve_path(r.text("warehouse", required=True) or ""))


@dataclass(frozen=True, kw_only=True)
class SourceConfig:
    """The real table: a path (Parquet, CSV, Delta) or a table of an Iceberg catalog or of Spark."""

    format: SourceFormat
    path: Path | None = None
    table: str | None = None
    catalog: CatalogConfig | None = None

    @classmethod
    def read(cls, r: _Reader) -> SourceConfig:
        """Parse the ``source`` section."""
        fmt = r.enum("format", SourceFormat, "delta")
        path, table = r.text("path"), r.text("table")
        if fmt in (SourceFormat.ICEBERG, SourceFormat.SPARK):
            if table is None:
                raise r.fail("table", f"is required for a {fmt.value} source (e.g. 'namespace.name')")
        elif path is None:
            raise r.fail("path", f"is required for a {fmt.value} source")
        catalog = None
        if fmt is SourceFormat.ICEBERG:
            catalog = CatalogConfig.read(r.child("catalog", ["name", "database", "warehouse"]))
        return cls(format=fmt, path=resolve_path(path) if path else None, table=table, catalog=catalog)

    @property
    def uri(self) -> str:
        """The source as an Airflow Asset URI."""
        if self.format is SourceFormat.ICEBERG:
            assert self.catalog is not None
            return f"iceberg://{self.catalog.name}/{self.table}"
        if self.format is SourceFormat.SPARK:
            return f"spark://default/{self.table}"
        return f"file://{self.path}"


@dataclass(frozen=True, kw_only=True)
class TargetConfig:
    """Where the synthetic table is published."""

    format: TargetFormat
    path: Path | None = None
    table: str | None = None
    catalog: CatalogConfig | None = None

    @classmethod
    def read(cls, r: _Reader) -> TargetConfig:
        """Parse the ``target`` section."""
        fmt = r.enum("format", TargetFormat, "delta")
        if fmt is TargetFormat.ICEBERG:
            table = r.text("table", required=True)
            if table is None or "." not in table:
                raise r.fail("table", f"must be 'namespace.name' for an Iceberg target, got {table!r}")
            catalog = CatalogConfig.read(r.child("catalog", ["name", "database", "warehouse"]))
            if "path" in r.data:
                raise r.fail("path", "is not used by an Iceberg target (its catalog places the table)")
            return cls(format=fmt, table=table, catalog=catalog)
        path = r.text("path", required=True) or ""
        if "table" in r.data or "catalog" in r.data:
            raise r.fail("table", f"is only for Iceberg targets; a {fmt.value} target has a path")
        return cls(format=fmt, path=resolve_path(path))

    @property
    def uri(self) -> str:
        """The synthetic table as an Airflow Asset URI."""
        if self.format is TargetFormat.ICEBERG:
            assert self.catalog is not None
            return f"iceberg://{self.catalog.name}/{self.table}"
        return f"file://{self.path}"

    @property
    def report_dir(self) -> Path:
        """Where the quality report is written: beside the table."""
        if self.format is TargetFormat.ICEBERG:
            assert self.catalog is not None and self.table is not None
            return self.catalog.warehouse / (self.table.replace(".", "/") + ".quality")
        assert self.path is not None
        return self.path.with_name(self.path.name + ".quality")


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """How the generator is learned."""

    kind: str = "copula"
    engine: Engine = Engine.LOCAL
    epochs: int | None = None
    workers: int = 1
    gpus: int = 0
    options: Mapping[str, Any] = field(default_factory=dict)
    spec: Path | None = None

    @classmethod
    def read(cls, r: _Reader) -> ModelConfig:
        """Parse the ``model`` section."""
        from synth_ray.models.registry import MODEL_KINDS

        kind = r.text("kind", "copula") or "copula"
        if kind not in MODEL_KINDS:
            raise r.fail("kind", unknown_name_message(kind, MODEL_KINDS, what="model"))
        engine = r.enum("engine", Engine, "local")
        if engine is Engine.SPARK:
            raise r.fail("engine", "models are fitted 'local' or on 'ray'; Spark is a sampling engine")
        if engine is Engine.RAY and kind == "copula":
            raise r.fail("engine", "Ray Train fits the neural models (ctgan, tvae); fit the copula 'local'")
        epochs = r.integer("epochs", None, minimum=1)
        if epochs is not None and kind == "copula":
            raise r.fail("epochs", "the copula model has no epochs; remove the key or use ctgan/tvae")
        spec = r.text("spec")
        return cls(kind=kind, engine=engine, epochs=epochs, workers=r.integer("workers", 1, minimum=1) or 1,
                   gpus=r.integer("gpus", 0) or 0, options=dict(r.mapping("options")),
                   spec=resolve_path(spec) if spec else None)

    @property
    def fit_options(self) -> dict[str, Any]:
        """The generator's options, with ``epochs`` folded in."""
        return {**self.options, **({"epochs": self.epochs} if self.epochs is not None else {})}


def _schedule(value: Any, where: str) -> str | None:
    """``None`` (manual), ``source`` (when the source Asset is updated), or a cron expression/preset."""
    if value is None or value == "source":
        return None if value is None else "source"
    if not isinstance(value, str):
        raise ConfigError(f"{where}: must be a cron expression, a preset like '@daily', 'source' or "
                          f"null, got {value!r}")
    if f"@{value.strip()}" in _PRESETS:
        raise ConfigError(f"{where}: {value!r} is not a cron expression; did you mean the preset "
                          f"'@{value.strip()}'?")
    if value.startswith("@"):
        if value not in _PRESETS:
            raise ConfigError(f"{where}: " + unknown_name_message(value, _PRESETS, what="preset"))
        return value
    fields = value.split()
    if len(fields) != len(_CRON_FIELDS):
        raise ConfigError(f"{where}: {value!r} has {len(fields)} field(s); a cron expression has 5: "
                          f"{' '.join(f for f, _ in _CRON_FIELDS)} (e.g. '0 3 * * *' for 03:00 daily)")
    try:
        from croniter import croniter
    except ImportError:  # Airflow installs croniter; without Airflow the scheduler checks it
        return value
    if not croniter.is_valid(value):
        for i, (field_name, allowed) in enumerate(_CRON_FIELDS):
            alone = " ".join(fields[i] if j == i else "*" for j in range(len(_CRON_FIELDS)))
            if not croniter.is_valid(alone):
                raise ConfigError(f"{where}: {value!r}: the {field_name} field {fields[i]!r} is not "
                                  f"valid; {field_name} takes {allowed}")
        raise ConfigError(f"{where}: {value!r} is not a valid cron expression (5 fields: "
                          "minute hour day-of-month month day-of-week)")
    return value


_PRESETS = ("@once", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly")
_CRON_FIELDS = (("minute", "0-59"), ("hour", "0-23"), ("day-of-month", "1-31"),
                ("month", "1-12 or jan-dec"), ("day-of-week", "0-6 or sun-sat"))


_TOP_KEYS = ["name", "description", "source", "model", "rows", "seed", "target", "mode",
             "sampling_engine", "sampling_workers", "schedule", "start_date", "refit",
             "expectations", "retries", "retry_delay_s", "work_dir", "tags", "holdout_fraction"]


@dataclass(frozen=True, kw_only=True)
class TableConfig:
    """One synthetic table's refresh: everything a DAG needs, validated.

    Attributes:
        name: the table's name; the DAG is ``synthetic_<name>``.
        file: the YAML file it came from.
        work_dir: the model, the run state and the staging area (beside the target by default,
            so that publishing is a rename on one file system).
    """

    name: str
    file: Path
    source: SourceConfig
    target: TargetConfig
    model: ModelConfig
    rows: int
    seed_policy: SeedPolicy
    seed: int
    mode: str
    sampling_engine: Engine
    sampling_workers: int
    schedule: str | None
    start_date: dt.datetime
    refit: RefitPolicy
    refit_every: int | None
    expectations: Mapping[str, Any]
    retries: int
    retry_delay_s: int
    work_dir: Path
    description: str = ""
    tags: tuple[str, ...] = ()
    holdout_fraction: float = 0.2  # source rows never fitted on, for the privacy gate (airflow_dags.holdout)

    @property
    def dag_id(self) -> str:
        """The DAG's id."""
        return f"synthetic_{self.name}"

    @classmethod
    def from_dict(cls, data: Any, *, file: Path, roots: tuple[Path, ...] = ()) -> TableConfig:
        """Validate a parsed YAML document; errors start with the file's name.

        ``roots``: the folders the table, its work folder and its catalog must lie in
        (empty: anywhere); see :func:`allowed_roots`.
        """
        config = cls._read(_Reader(data, file, "", _TOP_KEYS))
        catalog = config.target.catalog
        written = [("target.path", config.target.path),
                   ("target.catalog.database", catalog.database if catalog else None),
                   ("target.catalog.warehouse", catalog.warehouse if catalog else None),
                   ("work_dir", config.work_dir)]
        for key, path in written:
            if path is not None:
                _check_inside_roots(path, roots, f"{file}: {key}")
        return config

    @classmethod
    def _read(cls, r: _Reader) -> TableConfig:
        file = r.file
        name = r.text("name", required=True) or ""
        if not _NAME.match(name):
            raise r.fail("name", f"must be a letter then letters, digits or '_' (it names the DAG), "
                                 f"got {name!r}")
        for section, example in (("source", "{format: delta, path: lakehouse/real/orders}"),
                                 ("target", "{format: delta, path: lakehouse/synthetic/orders}")):
            if r.data.get(section) is None:
                raise r.fail(section, f"is required: where the {section} table is, e.g. {example}")
        source = SourceConfig.read(r.child("source", ["format", "path", "table", "catalog"]))
        target = TargetConfig.read(r.child("target", ["format", "path", "table", "catalog"]))
        engine = r.enum("sampling_engine", Engine, "local")
        mode = r.text("mode", "overwrite")
        if mode not in ("overwrite", "append"):
            raise r.fail("mode", f"must be 'overwrite' or 'append', got {mode!r}")
        refit, every = _refit(r)
        seed_policy, seed = _seed(r)
        work = r.text("work_dir")
        return cls(
            name=name, file=file, source=source, target=target,
            model=ModelConfig.read(r.child("model", ["kind", "engine", "epochs", "workers", "gpus",
                                                     "options", "spec"])),
            rows=r.integer("rows", None, required=True) or 0,
            seed_policy=seed_policy, seed=seed, mode=mode or "overwrite", sampling_engine=engine,
            sampling_workers=r.integer("sampling_workers", 1, minimum=1) or 1,
            schedule=_schedule(r.data.get("schedule"), r.where("schedule")),
            start_date=_start_date(r), refit=refit, refit_every=every,
            expectations=_expectations(r), retries=r.integer("retries", 2) or 0,
            retry_delay_s=r.integer("retry_delay_s", 60) or 0,
            work_dir=resolve_path(work) if work else _default_work_dir(target, name),
            description=r.text("description") or "", tags=_tags(r),
            holdout_fraction=_holdout_fraction(r),
        )


def _refit(r: _Reader) -> tuple[RefitPolicy, int | None]:
    raw = r.data.get("refit", "on_change")
    if isinstance(raw, Mapping):
        sub = r.child("refit", ["policy", "n"])
        policy = sub.enum("policy", RefitPolicy, "every_n_runs")
        every = sub.integer("n", None, minimum=1)
    else:
        policy, every = r.enum("refit", RefitPolicy, "on_change"), None
    if policy is RefitPolicy.EVERY_N_RUNS and every is None:
        raise r.fail("refit", "every_n_runs needs n: write 'refit: {policy: every_n_runs, n: 7}'")
    if policy is not RefitPolicy.EVERY_N_RUNS and every is not None:
        raise r.fail("refit", f"n is only used by every_n_runs, not {policy.value}")
    return policy, every


def _seed(r: _Reader) -> tuple[SeedPolicy, int]:
    raw = r.data.get("seed", 0)
    if isinstance(raw, Mapping):
        sub = r.child("seed", ["policy", "value"])
        policy = sub.enum("policy", SeedPolicy, "fixed")
        return policy, sub.integer("value", 0) or 0
    if raw == "logical_date":
        return SeedPolicy.LOGICAL_DATE, 0
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise r.fail("seed", f"must be an integer >= 0, 'logical_date', or {{policy: fixed or "
                             f"logical_date, value: N}}, got {raw!r}")
    return SeedPolicy.FIXED, raw


def _expectations(r: _Reader) -> dict[str, Any]:
    """The gate thresholds, checked now (by the gate's own schema) so a typo fails on load."""
    raw = dict(r.mapping("expectations"))
    try:
        from expectations.thresholds import GateThresholds
    except ImportError:  # the gate is checked when the validate task imports it
        return raw
    try:
        GateThresholds.from_mapping(raw)
    except ConfigError as exc:
        raise r.fail("expectations", str(exc)) from None
    return raw


def _holdout_fraction(r: _Reader) -> float:
    value = r.data.get("holdout_fraction", 0.2)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 0.5:
        raise r.fail("holdout_fraction", f"must be a number in [0, 0.5] (the share of source rows kept "
                                         f"out of the fit to judge privacy; 0 turns that off), got {value!r}")
    return float(value)


def _start_date(r: _Reader) -> dt.datetime:
    raw = r.data.get("start_date", dt.date(2025, 1, 1))
    if isinstance(raw, str):
        try:
            raw = dt.datetime.fromisoformat(raw)
        except ValueError:
            raise r.fail("start_date", f"must be a date like 2025-01-01, got {raw!r}") from None
    if isinstance(raw, dt.datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=dt.UTC)
    if isinstance(raw, dt.date):
        return dt.datetime(raw.year, raw.month, raw.day, tzinfo=dt.UTC)
    raise r.fail("start_date", f"must be a date like 2025-01-01, got {raw!r}")


def _tags(r: _Reader) -> tuple[str, ...]:
    raw = r.data.get("tags") or []
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        raise r.fail("tags", f"must be a list of strings, got {raw!r}")
    return tuple(raw)


def _default_work_dir(target: TargetConfig, name: str) -> Path:
    if target.path is not None:
        return target.path.parent / "_synth_ray" / name
    assert target.catalog is not None
    return target.catalog.warehouse / "_synth_ray" / name


def load_table_config(path: str | Path, *, roots: str | None = None) -> TableConfig:
    """Read and validate the YAML table config at ``path`` (safely: no tags run code).

    Args:
        path: the YAML file.
        roots: the folders the config may write under, separated by ``os.pathsep``;
            ``None`` reads ``$SYNTH_RAY_ALLOWED_ROOTS`` (unset: anywhere).

    Raises:
        ConfigError: unreadable YAML, a missing or unknown key, or a bad value; the message
            names the file and the key.
    """
    import yaml

    file = Path(path).absolute()
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read the table config ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: not valid YAML: {exc}") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{file}: a table config is a mapping of keys (name, source, target, ...), "
                          f"got {type(data).__name__}")
    return TableConfig.from_dict(data, file=file, roots=allowed_roots(roots))
