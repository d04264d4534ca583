"""Iceberg tables through pyiceberg's SQL catalog on SQLite (no JVM, no server)."""

from __future__ import annotations

from typing import Any

from airflow_dags.config import CatalogConfig
from synth_ray.errors import MissingExtraError

__all__ = ["load_catalog"]


def load_catalog(config: CatalogConfig) -> Any:
    """The SQL catalog ``config`` describes, created on first use."""
    try:
        from pyiceberg.catalog.sql import SqlCatalog
    except ImportError:
        raise MissingExtraError(package="pyiceberg", extra="iceberg", feature="Iceberg tables") from None
    config.database.parent.mkdir(parents=True, exist_ok=True)
    config.warehouse.mkdir(parents=True, exist_ok=True)
    return SqlCatalog(config.name, uri=f"sqlite:///{config.database}",
                      warehouse=config.warehouse.as_uri())
