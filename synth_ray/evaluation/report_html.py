"""The evaluation as one self-contained HTML page: verdicts first, then the evidence.

The page has no external resource (styles inline, charts as inline SVG, no script), so
it can be mailed, attached to a ticket or archived as a pipeline artifact and still
render the same. Order: a summary card with the overall verdict, the quality score and
every check; then fidelity (column table and distribution overlays), pair trends (a
correlation-difference heatmap), privacy (the DCR histogram), utility, detection and
diversity, and how everything was computed.
"""

from __future__ import annotations

import html
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from synth_ray.evaluation.column_stats import ColumnReport
from synth_ray.evaluation.evaluate import EvaluationResult
from synth_ray.evaluation.report_style import STYLE
from synth_ray.evaluation.svg_charts import bar_chart, heatmap, histogram_chart, score_bar
from synth_ray.evaluation.verdicts import THRESHOLDS, Check, Verdict
from synth_ray.metadata import ColumnKind

__all__ = ["check_value_text", "render_html", "write_html"]

_MAX_OVERLAYS = 48
_MAX_HEATMAP_COLUMNS = 30
_PERCENT_KEYS = {"fidelity.null_rates", "privacy.exact_matches", "privacy.dcr_share",
                 "diversity.duplicates", "diversity.range_coverage"}
_STATISTIC = {"correlation": "Pearson r", "contingency": "Cramér's V"}
_SECTION_TITLES = {"fidelity": "Fidelity", "detection": "Detection", "utility": "Utility",
                   "privacy": "Privacy", "diversity": "Diversity"}


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _pill(verdict: Verdict | None) -> str:
    if verdict is None:
        return '<span class="pill none">not run</span>'
    return f'<span class="pill {verdict.value}">{verdict.value.upper()}</span>'


def _num(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.{digits}f}"


def _pct(value: float | None, digits: int = 1) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.{digits}%}"


_EXCESS_KEYS = {"privacy.exact_matches", "diversity.duplicates"}
_RATIO_KEYS = {"privacy.dcr_tail", "privacy.nndr_tail", "diversity.category_coverage"}


def _format(key: str, value: float, *, signed: bool = True) -> str:
    """A check's number in the unit people read it in (percent points, ratios...)."""
    if key in _EXCESS_KEYS:
        return f"{value * 100:+.2f} pp" if signed else f"{value * 100:g} pp"
    if key in _RATIO_KEYS:
        return f"×{value:.2f}"
    if key == "utility.gap":
        return f"gap {value:.3f}" if signed else f"{value:.2f}"
    if key in _PERCENT_KEYS:
        return _pct(value, 1 if signed or not round(value * 100, 6).is_integer() else 0)
    return _num(value, 3 if signed else 2)


def check_value_text(check: Check) -> str:
    """A check's value as the report shows it (``+0.12 pp``, ``×0.95``, ``48.7%``...)."""
    return _format(check.key, check.value)


def _rule(key: str) -> str:
    """The threshold of ``key`` in the same unit as its value: ``pass ≥ 0.80 · warn ≥ 0.65``."""
    t = THRESHOLDS[key]
    op = "≥" if t.higher_is_better else "≤"
    return (f"pass {op} {_format(key, t.pass_at, signed=False)} · "
            f"warn {op} {_format(key, t.warn_at, signed=False)}")


def _checks_table(checks: tuple[Check, ...]) -> str:
    rows = "".join(
        f"<tr><td>{_pill(c.verdict)}</td><td><b>{_e(c.label)}</b><div class='muted small'>"
        f"{_e(c.detail)}</div></td><td class='num'>{_e(check_value_text(c))}</td>"
        f"<td class='muted small'>{_e(_rule(c.key))}</td></tr>" for c in checks)
    return ("<table class='checks'><thead><tr><th></th><th>check</th><th>value</th>"
            f"<th>rule</th></tr></thead><tbody>{rows}</tbody></table>")


def _summary(result: EvaluationResult, names: dict[str, str]) -> str:
    sections = result.section_verdicts()
    chips = "".join(f"<div class='chip'><span>{title}</span>{_pill(sections.get(key))}</div>"
                    for key, title in _SECTION_TITLES.items())
    error = result.quality.standard_error
    error_text = f" ± {error:.3f}" if error is not None else ""
    notes = "".join(f"<li>{_e(n)}</li>" for n in result.notes)
    return f"""
<section class="card summary">
  <div class="headline">
    <div class="verdict-box {result.verdict.value}"><div class="label">overall</div>
      <div class="big">{result.verdict.value.upper()}</div></div>
    <div class="score-box"><div class="label">quality score (SDMetrics definition)</div>
      <div class="big">{_pct(result.quality.score)}</div>
      <div class="muted small">column shapes {_pct(result.quality.column_shapes)} · pair trends
        {_pct(result.quality.pair_trends)}{_e(error_text)}</div></div>
    <div class="chips">{chips}</div>
  </div>
  {_checks_table(result.checks)}
  {f"<ul class='notes'>{notes}</ul>" if notes else ""}
  <p class="muted small">Compared <b>{_e(names["synthetic"])}</b> with <b>{_e(names["real"])}</b>
  {f"and holdout <b>{_e(names['holdout'])}</b>" if names.get("holdout") else ""} on
  {_e(result.sampling.describe())}. Computed in {result.seconds:.1f} s by synth-ray
  {_e(result.synth_ray_version)}.</p>
</section>"""


def _column_detail(c: ColumnReport) -> str:
    nulls = f"nulls {_pct(c.real_null_rate)} → {_pct(c.synthetic_null_rate)}"
    if c.kind in (ColumnKind.NUMERICAL, ColumnKind.DATETIME):
        def show(v: float | str | None) -> str:
            if v is None or isinstance(v, str):
                return "n/a" if v is None else v
            return f"{v:,.0f}" if abs(v) >= 1_000 else f"{v:.4g}"
        return (f"{nulls} · real {show(c.real_min)} – {show(c.real_max)} · synthetic "
                f"{show(c.synthetic_min)} – {show(c.synthetic_max)} · outside real range "
                f"{_pct(c.out_of_range_rate, 2)}")
    return (f"{nulls} · categories covered {_pct(c.category_coverage)} (expected "
            f"{_pct(c.expected_category_coverage)}) · unseen categories {_pct(c.new_category_rate, 2)}")


def _overlay(c: ColumnReport) -> str:
    dist = c.distribution
    if not dist.real and not dist.synthetic:
        chart = "<div class='empty-chart muted small'>no values: all null in both tables</div>"
    elif dist.kind == "bars":
        chart = bar_chart(dist)
    else:
        chart = histogram_chart(dist, datetimes=c.kind is ColumnKind.DATETIME)
    metric = "KS complement" if c.metric == "KSComplement" else "TV complement"
    return (f"<div class='overlay'><div class='overlay-head'><b>{_e(c.name)}</b>"
            f"<span class='muted small'>{_e(c.kind.value)} · {metric} {_num(c.shape)}</span>"
            f"</div>{chart}<div class='muted tiny'>{_e(_column_detail(c))}</div></div>")


def _column_row(c: ColumnReport) -> str:
    discrete = c.category_coverage is not None
    covered = c.category_coverage if discrete else c.range_coverage
    outside = c.new_category_rate if discrete else c.out_of_range_rate
    return (f"<tr><td><b>{_e(c.name)}</b></td><td>{_e(c.kind.value)}</td><td class='num'>"
            f"{_num(c.shape)}</td><td>{score_bar(c.shape)}</td><td class='num'>"
            f"{_pct(c.real_null_rate)} → {_pct(c.synthetic_null_rate)}</td>"
            f"<td class='num'>{_pct(covered)}</td><td class='num'>{_pct(outside, 2)}</td></tr>")


def _fidelity(result: EvaluationResult) -> str:
    columns = result.columns
    shown = columns if len(columns) <= _MAX_OVERLAYS else tuple(
        sorted(columns, key=lambda c: c.shape if math.isfinite(c.shape) else 2.0)[:_MAX_OVERLAYS])
    more = (f"<p class='muted small'>Showing the {_MAX_OVERLAYS} columns with the lowest shape "
            f"score of {len(columns)}.</p>") if len(shown) < len(columns) else ""
    rows = "".join(_column_row(c) for c in columns)
    skipped = "".join(f"<li><b>{_e(k)}</b>: {_e(v)}</li>" for k, v in result.skipped.items())
    return f"""
<section class="card"><h2>Fidelity: column shapes</h2>
  <p class="muted">How close each column's distribution is: 1 − KS statistic for numbers and
  datetimes, 1 − total variation distance for categories (1 = identical).
  <span class="legend"><i class="swatch real"></i>real <i class="swatch synthetic"></i>synthetic</span></p>
  <div class="grid">{"".join(_overlay(c) for c in shown)}</div>{more}
  <table class="compact"><thead><tr><th>column</th><th>kind</th><th>shape</th><th></th>
  <th>nulls real → synthetic</th><th>range or categories covered</th>
  <th>outside real range or unseen</th></tr></thead><tbody>{rows}</tbody></table>
  {f"<p class='muted small'>Not compared:</p><ul class='small'>{skipped}</ul>" if skipped else ""}
</section>"""


def _pair_cells(result: EvaluationResult) -> dict[tuple[str, str], tuple[float, str]]:
    cells = {}
    for p in result.quality.pair_details:
        stat = "Pearson r" if p.metric == "correlation" else "Cramér's V"
        diff = abs(p.real - p.synthetic) if math.isfinite(p.real) and math.isfinite(p.synthetic) \
            else float("nan")
        counts = "counts toward pair trends" if p.counted else "no real trend: not counted"
        cells[(p.first, p.second)] = (
            diff, f"{p.first} × {p.second}: {stat} real {_num(p.real, 2)}, synthetic "
                  f"{_num(p.synthetic, 2)}; similarity {_num(p.score)} ({counts})")
    return cells


def _pairs(result: EvaluationResult) -> str:
    details = result.quality.pair_details
    if not details:
        return ""
    names = [c.name for c in result.columns][:_MAX_HEATMAP_COLUMNS]
    cut = (f"<p class='muted small'>First {_MAX_HEATMAP_COLUMNS} of {len(result.columns)} "
           "columns shown.</p>") if len(result.columns) > _MAX_HEATMAP_COLUMNS else ""
    cells = _pair_cells(result)
    worst = sorted((p for p in details if math.isfinite(cells[(p.first, p.second)][0])),
                   key=lambda p: -cells[(p.first, p.second)][0])[:8]
    rows = "".join(
        f"<tr><td>{_e(p.first)} × {_e(p.second)}</td><td>{_e(_STATISTIC[p.metric])}</td>"
        f"<td class='num'>{_num(p.real, 2)}</td><td class='num'>{_num(p.synthetic, 2)}</td>"
        f"<td class='num'>{_num(p.score)}</td><td>{'yes' if p.counted else 'no'}</td></tr>"
        for p in worst)
    return f"""
<section class="card"><h2>Fidelity: pair trends</h2>
  <p class="muted">Each cell: |real − synthetic| of the pair's dependence (Pearson r for two
  numeric columns, Cramér's V otherwise, numbers in 10 bins). White = same trend, red = lost or
  invented. {len(result.quality.pairs)} of {len(details)} pairs have a real trend and count
  toward the score, as in SDMetrics (|r| &gt; 0.5 or V &gt; 0.3).</p>
  <div class="row"><div>{heatmap(names, cells)}{cut}</div>
  <div class="grow"><h3>Largest trend differences</h3><table class="compact pairs"><thead><tr><th>pair</th>
  <th>statistic</th><th>real</th><th>synthetic</th><th>similarity</th><th>counted</th></tr></thead>
  <tbody>{rows}</tbody></table></div></div>
</section>"""


def _privacy(result: EvaluationResult) -> str:
    p = result.privacy
    exact = (f"<tr><td>exact copies of training rows</td><td class='num'>{_pct(p.exact_match_rate, 2)}"
             f"</td><td class='num'>{_pct(p.holdout_exact_match_rate, 2)}</td></tr>")
    if p.dcr_histogram is None:
        return f"""
<section class="card"><h2>Privacy</h2><table class="compact"><thead><tr><th></th><th>synthetic</th>
  <th>holdout</th></tr></thead><tbody>{exact}</tbody></table>
  <p class="muted">Pass a holdout (real rows the generator never saw) to measure distances to
  closest records and to get privacy verdicts.</p></section>"""
    rows = exact + "".join(
        f"<tr><td>{label}</td><td class='num'>{_num(s, 4)}</td><td class='num'>{_num(h, 4)}</td></tr>"
        for label, s, h in (
            ("DCR to training, 5th percentile", p.dcr_synthetic_q05, p.dcr_holdout_q05),
            ("DCR to training, median", p.dcr_synthetic_median, p.dcr_holdout_median),
            ("NNDR, 5th percentile", p.nndr_synthetic_q05, p.nndr_holdout_q05)))
    return f"""
<section class="card"><h2>Privacy</h2>
  <p class="muted">Distance to the closest training record (DCR) of synthetic rows against that of
  holdout rows, real rows the generator never saw. A generator that memorizes puts mass near 0
  that the holdout does not have. <span class="legend"><i class="swatch holdout"></i>holdout
  <i class="swatch synthetic"></i>synthetic</span></p>
  <div class="row"><div>{histogram_chart(p.dcr_histogram, width=460, height=210,
                                         classes=("holdout", "synthetic"),
                                         x_title="distance to the closest training record")}</div>
  <div class="grow"><table class="compact"><thead><tr><th></th><th>synthetic</th><th>holdout</th>
  </tr></thead><tbody>{rows}</tbody></table>
  <p class="muted small">{_pct(p.dcr_share)} of synthetic rows are closer to training rows than to
  holdout rows (ideal ≤ 50%); {p.distance_queries:,} synthetic rows searched among
  {p.distance_rows:,} training and {p.holdout_distance_rows:,} holdout rows.</p></div></div>
</section>"""


def _utility(result: EvaluationResult) -> str:
    u = result.utility
    if u is None:
        return ""
    names = {"macro_f1": "macro F1", "roc_auc": "ROC AUC (one-vs-rest)", "r2": "R²"}
    rows = "".join(
        f"<tr><td>{names.get(m.name, m.name)}</td><td class='num'>{_num(m.real)}</td>"
        f"<td class='num'>{_num(m.synthetic)}</td><td class='num'>{m.gap:+.3f}</td></tr>"
        for m in u.metrics)
    return f"""
<section class="card"><h2>Utility: predicting <code>{_e(u.target)}</code> ({_e(u.task)})</h2>
  <table class="compact narrow"><thead><tr><th>metric on the holdout</th><th>trained on real (TRTR)</th>
  <th>trained on synthetic (TSTR)</th><th>gap</th></tr></thead><tbody>{rows}</tbody></table>
  <p class="muted small">Gradient-boosted trees, {u.train_rows:,} training rows each, tested on
  {u.test_rows:,} holdout rows. The verdict is on the gap in the first metric.</p>
</section>"""


def _detection_diversity(result: EvaluationResult) -> str:
    d, v = result.detection, result.diversity
    detection = ("<p class='muted'>Not run: too few rows.</p>" if d is None else
                 f"<p>ROC AUC <b>{d.auc:.3f}</b> ± {d.auc_std:.3f} ({d.folds}-fold CV, "
                 f"{d.rows_per_class:,} rows of each). 0.5 means a classifier cannot tell the rows "
                 "apart; values near 1 mean it easily can.</p>")
    return f"""
<section class="card"><div class="row">
  <div class="grow"><h2>Detection</h2>{detection}</div>
  <div class="grow"><h2>Diversity</h2><table class="compact"><tbody>
  <tr><td>categories covered</td><td class='num'>{_pct(v.category_coverage)}</td>
      <td class='muted small'>expected {_pct(v.expected_category_coverage)}</td></tr>
  <tr><td>range covered (0.5–99.5th pct.)</td><td class='num'>{_pct(v.range_coverage)}</td><td></td></tr>
  <tr><td>duplicate rows</td><td class='num'>{_pct(v.duplicate_rate, 2)}</td>
      <td class='muted small'>real {_pct(v.real_duplicate_rate, 2)} ({v.rows:,} rows each)</td></tr>
  </tbody></table></div></div>
</section>"""


def _training_privacy(record: Mapping[str, Any] | None) -> str:
    """The card of a generator fitted with differential privacy (DP-SGD), if it was."""
    if not record:
        return ""
    rows = "".join(f"<tr><td>{label}</td><td class='num'>{_e(value)}</td></tr>" for label, value in (
        ("epsilon spent", f"{float(record['epsilon']):.4g}"),
        ("target epsilon", f"{float(record['target_epsilon']):g}"),
        ("delta", f"{float(record['delta']):.3g}"),
        ("noise multiplier", f"{float(record['noise_multiplier']):.4g}"),
        ("max_grad_norm", f"{float(record['max_grad_norm']):g}"),
        ("sample rate", f"{float(record['sample_rate']):.4g}"),
        ("steps", f"{int(record['steps']):,}"),
        ("accountant", record["accountant"])))
    return f"""
<section class="card"><h2>Differential privacy of the generator</h2>
  <div class="row"><div><table class="compact"><tbody>{rows}</tbody></table></div>
  <div class="grow"><p>The generator was trained with {_e(record["mechanism"])}: an
  ({float(record["epsilon"]):.3g}, {float(record["spent_delta"]):.3g})-differential-privacy
  guarantee for <b>{_e(record["adjacency"])}</b> (privacy unit: {_e(record["unit"])}).</p>
  <p class="muted small">Not covered: the transform statistics (category sets, Gaussian-mixture
  modes, ranges, null rates) and the conditional sampler's category frequencies are computed from
  the real rows without noise. The distance metrics above measure this synthetic sample; the
  guarantee bounds what any output of the generator can reveal about one row.</p></div></div>
</section>"""


def _method(result: EvaluationResult) -> str:
    rows = "".join(f"<tr><td><code>{_e(k)}</code></td><td>{_e(_rule(k))}</td></tr>"
                   for k in THRESHOLDS)
    s = result.settings
    return f"""
<section class="card method"><h2>How this was computed</h2>
  <p class="small">Samples: {_e(result.sampling.describe())}. Detection used up to
  {s.detection_rows:,} rows per class, utility up to {s.utility_rows:,} training rows, privacy up to
  {s.privacy_rows:,} rows per set; at most {s.max_pairs:,} column pairs. The quality score follows
  SDMetrics 0.32's QualityReport: the mean of Column Shapes and Column Pair Trends.</p>
  <details><summary class="small">Verdict thresholds</summary><table class="compact small">
  <tbody>{rows}</tbody></table></details>
</section>"""


def render_html(result: EvaluationResult, *, real_name: str = "real",
                synthetic_name: str = "synthetic", holdout_name: str | None = None,
                training_privacy: Mapping[str, Any] | None = None) -> str:
    """The report page as text: one self-contained HTML document.

    ``training_privacy`` is the generator's DP record (``generator.privacy``) when it was
    fitted with differential privacy; the page then shows the budget it spent.
    """
    names = {"real": real_name, "synthetic": synthetic_name, "holdout": holdout_name or ""}
    body = "".join([_summary(result, names), _fidelity(result), _pairs(result), _privacy(result),
                    _training_privacy(training_privacy), _utility(result),
                    _detection_diversity(result), _method(result)])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Synthetic data report: {_e(synthetic_name)}</title><style>{STYLE}</style></head>
<body><main><header><h1>Synthetic data report</h1>
<p class="muted"><b>{_e(synthetic_name)}</b> against <b>{_e(real_name)}</b></p></header>
{body}</main></body></html>
"""


def write_html(result: EvaluationResult, path: str | Path, *, real_name: str = "real",
               synthetic_name: str = "synthetic", holdout_name: str | None = None,
               training_privacy: Mapping[str, Any] | None = None) -> Path:
    """Write the report to ``path`` atomically (a temporary file renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = render_html(result, real_name=real_name, synthetic_name=synthetic_name,
                       holdout_name=holdout_name, training_privacy=training_privacy)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a report is for sharing
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
