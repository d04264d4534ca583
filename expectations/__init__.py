"""Great Expectations quality and privacy gate for synth-ray's synthetic tables.

``validate_synthetic(data, model_dir=...)`` builds the model's expectation suite from its
fit-time reference profile and runs it with GX on pandas, Spark, Delta or Parquet data;
``GateResult.success`` decides whether the table may be published. Importing this
package is cheap: great_expectations loads only when a suite is built or run (a missing
install raises ``MissingExtraError`` naming ``pip install 'synth-ray[gx]'``).

Modules, one concept each: ``thresholds`` (tolerances), ``suite`` (building, saving and
loading suites), ``statistics`` (map-reduced batch statistics), ``metrics`` (the GX metric
provider, pandas and Spark), ``reference_expectations`` (the custom GX expectations),
``runner`` (GX contexts, checkpoints, Data Docs), ``failures`` (readable failure lines) and
``gate`` (the public entry point).
"""

from __future__ import annotations

from expectations.gate import GateResult, GateThresholds, build_suite, save_suite, validate_synthetic
from expectations.suite import default_suite_path, load_suite

__all__ = [
    "GateResult",
    "GateThresholds",
    "build_suite",
    "default_suite_path",
    "load_suite",
    "save_suite",
    "validate_synthetic",
]
