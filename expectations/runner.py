"""Running a suite on a batch with a real GX context: ephemeral, or a file project.

An ephemeral context keeps nothing. A file project (``gx_project_dir``) keeps the suite,
the validation definition, a checkpoint and every validation result, and renders Data
Docs (HTML) under ``gx/uncommitted/data_docs/local_site/`` through the checkpoint's
``UpdateDataDocsAction``. Names are fixed, so re-running the gate (an Airflow retry)
updates the same objects instead of piling up new ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["data_docs_index", "run_validation"]

_DATASOURCE = {"pandas": "synth_ray_pandas", "spark": "synth_ray_spark"}
_ASSET = "synthetic_table"
_BATCH = "whole_table"
_RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 5}
_FAST = {"result_format": "BOOLEAN_ONLY"}


def _context(project_dir: Path | None) -> Any:
    import great_expectations as gx

    if project_dir is None:
        return gx.get_context(mode="ephemeral")
    project_dir.mkdir(parents=True, exist_ok=True)
    return gx.get_context(mode="file", project_root_dir=str(project_dir))


def _batch_definition(context: Any, engine: str) -> Any:
    name = _DATASOURCE[engine]
    try:
        source = context.data_sources.get(name)
    except (KeyError, ValueError, LookupError):
        source = None
    except Exception:  # GX raises its own DataContextError subclasses for a missing name
        source = None
    if engine == "spark" and (source is None or source.persist):
        # GX would persist() the batch: caching 10,000,000 rows cost more than every
        # expectation's query together, and the summary reads Parquet no slower than the cache.
        source = context.data_sources.add_or_update_spark(name, persist=False)
    elif source is None:
        source = context.data_sources.add_pandas(name)
    try:
        asset = source.get_asset(_ASSET)
    except LookupError:
        asset = source.add_dataframe_asset(_ASSET)
    try:
        return asset.get_batch_definition(_BATCH)
    except (KeyError, LookupError):
        return asset.add_batch_definition_whole_dataframe(_BATCH)


def _run_once(context: Any, batch: Any, suite: Any, frame: Any, *, result_format: dict[str, Any],
              project_dir: Path | None) -> Any:
    import great_expectations as gx
    from great_expectations.checkpoint.actions import UpdateDataDocsAction

    suite = context.suites.add_or_update(suite)
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=f"{suite.name}.gate", data=batch, suite=suite))
    if project_dir is None:
        return definition.run(batch_parameters={"dataframe": frame}, result_format=result_format)
    checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
        name=f"{suite.name}.checkpoint", validation_definitions=[definition],
        actions=[UpdateDataDocsAction(name="update_data_docs")], result_format=result_format))
    result = checkpoint.run(batch_parameters={"dataframe": frame})
    return next(iter(result.run_results.values()))


def run_validation(frame: Any, suite: Any, *, engine: str, project_dir: Path | None) -> Any:
    """Validate ``frame`` (pandas or Spark DataFrame) against ``suite``; the GX result.

    The suite runs once with ``BOOLEAN_ONLY`` results (no examples of unexpected values:
    on Spark that saves a query per expectation, three times faster); only the failed
    expectations run again with ``BASIC`` results, so that every failure reads with its
    observed values. With ``project_dir`` both runs go through a checkpoint that stores
    their results and updates the project's Data Docs.
    """
    import great_expectations as gx

    context = _context(project_dir)
    batch = _batch_definition(context, engine)
    result = _run_once(context, batch, suite, frame, result_format=_FAST, project_dir=project_dir)
    failed = [r.expectation_config for r in result.results if not r.success]
    if not failed:
        return result
    expectations = []
    for config in failed:
        expectation = config.to_domain_obj()
        expectation.id = None
        expectations.append(expectation)
    details = _run_once(context, batch, gx.ExpectationSuite(name=f"{suite.name}.failures",
                                                            expectations=expectations),
                        frame, result_format=_RESULT_FORMAT, project_dir=project_dir)
    detailed = {_key(r.expectation_config): r for r in details.results}
    result.results = [detailed.get(_key(r.expectation_config), r) for r in result.results]
    return result


def _key(config: Any) -> str:
    import json

    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
    return json.dumps([config.type, kwargs], sort_keys=True, default=str)


def data_docs_index(project_dir: Path) -> Path | None:
    """The Data Docs home page of a file project, if it has been rendered."""
    found = sorted(project_dir.glob("**/data_docs/local_site/index.html"))
    return found[0] if found else None
