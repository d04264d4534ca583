"""A GX validation result as the gate's verdict: one readable line per failed expectation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from expectations.gate import GateResult

if TYPE_CHECKING:
    from expectations.privacy import PrivacyGate

__all__ = ["failure_line", "gate_result"]

_HIDDEN = {"column", "column_A", "column_B", "batch_id", "result_format", "reference_digest",
           "row_condition", "condition_parser", "mostly", "meta", "notes", "description"}
_MAX_TEXT = 120


def _short(value: Any) -> str:
    if isinstance(value, list | tuple) and len(value) > 6:
        value = [*value[:6], f"... {len(value) - 6} more"]
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 3] + "..."


def _where(kwargs: dict[str, Any]) -> str:
    if "column" in kwargs:
        return f"column {kwargs['column']!r}"
    if "column_A" in kwargs:
        return f"columns {kwargs['column_A']!r} and {kwargs['column_B']!r}"
    return "table"


def _observed(result: dict[str, Any]) -> str:
    details = result.get("details") or {}
    if "error" in details:
        return f"error: {details['error']}"
    if "unexpected_count" in result and result.get("observed_value") is None:
        text = (f"{result['unexpected_count']:,} unexpected of {result.get('element_count', 0):,} "
                f"({result.get('unexpected_percent') or 0:.2f}% of non-null)")
        examples = result.get("partial_unexpected_list") or []
        return text + (f", e.g. {_short(examples[:3])}" if examples else "")
    observed = result.get("observed_value")
    if "mismatched" in details:
        return f"{_short(observed)} (mismatched: {_short(details['mismatched'])})"
    if "delta" in details:
        return f"{observed} (real {details['real_value']}, change {details['delta']})"
    if "copied_rows" in details:
        share = f"{float(observed or 0.0) * 100:.3g}%"
        return f"{details['copied_rows']:,} of {details['rows']:,} rows copy a training row ({share})"
    return _short(observed)


def failure_line(config: Any, result: dict[str, Any], exception: dict[str, Any] | None) -> str:
    """``column 'x': expect_...: observed ... vs allowed ...`` for one failed expectation."""
    kwargs = dict(config.kwargs)
    allowed = ", ".join(f"{k}={_short(v)}" for k, v in kwargs.items()
                        if k not in _HIDDEN and v is not None)
    if exception and exception.get("raised_exception"):
        message = str(exception.get("exception_message") or "").strip().splitlines()
        observed = f"error: {message[-1] if message else 'the expectation raised'}"
    else:
        observed = _observed(result or {})
    allowed = allowed or "no unexpected value"
    return f"{_where(kwargs)}: {config.type}: observed {observed} vs allowed {allowed}"


def gate_result(validation: Any, *, engine: str, seconds: float, data_docs: Path | None = None,
                privacy: PrivacyGate | None = None) -> GateResult:
    """The :class:`GateResult` of a GX suite validation result (and of the privacy check, if run)."""
    failures = []
    for item in validation.results:
        if not item.success:
            failures.append(failure_line(item.expectation_config, dict(item.result or {}),
                                         dict(item.exception_info or {})))
    total = len(validation.results)
    if privacy is not None:  # one more check, counted with the expectations
        total += 1
        failures += [privacy.failure] if privacy.failure is not None else []
    verdict = "PASSED" if not failures else "FAILED"
    checks = "expectations" if privacy is None else "checks"
    lines = [f"synth-ray gate {verdict}: {total - len(failures)} of {total} {checks} met "
             f"({engine}, {seconds:.1f} s)"]
    lines += [f"  FAIL  {line}" for line in failures]
    if privacy is not None:
        lines.append(f"  {privacy.line}")
    if data_docs is not None:
        lines.append(f"  Data Docs: {data_docs}")
    return GateResult(success=not failures, failures=tuple(failures), summary="\n".join(lines),
                      privacy=None if privacy is None else privacy.metrics)
