"""The report's stylesheet: one place for its colours, type and layout.

Real data is blue, synthetic orange, holdout slate, everywhere (charts, legends);
verdicts are green, amber and red. System fonts only, so the page needs nothing
from the network.
"""

from __future__ import annotations

__all__ = ["STYLE"]

STYLE = """
:root { --real:#2563eb; --synthetic:#f97316; --holdout:#64748b; --ink:#111827; --muted:#6b7280;
  --line:#e5e7eb; --pass:#15803d; --pass-bg:#dcfce7; --warn:#b45309; --warn-bg:#fef3c7;
  --fail:#b91c1c; --fail-bg:#fee2e2; }
* { box-sizing: border-box; }
body { margin:0; background:#f3f4f6; color:var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 20px 48px; }
header h1 { margin: 0; font-size: 26px; letter-spacing: -0.01em; }
header p { margin: 4px 0 16px; }
h2 { font-size: 18px; margin: 0 0 8px; }
h3 { font-size: 14px; margin: 4px 0 8px; }
.card { background:#fff; border:1px solid var(--line); border-radius:12px; padding:18px 20px;
  margin: 0 0 18px; box-shadow: 0 1px 2px rgba(0,0,0,.04); }
.muted { color: var(--muted); } .small { font-size: 12.5px; } .tiny { font-size: 11px; }
code { background:#f3f4f6; padding: 1px 5px; border-radius: 4px; }
.headline { display:flex; gap:18px; align-items:stretch; flex-wrap:wrap; margin-bottom: 14px; }
.verdict-box, .score-box { border-radius:10px; padding:12px 18px; min-width: 150px; }
.verdict-box.pass { background:var(--pass-bg); color:var(--pass); }
.verdict-box.warn { background:var(--warn-bg); color:var(--warn); }
.verdict-box.fail { background:var(--fail-bg); color:var(--fail); }
.score-box { background:#eff6ff; }
.label { font-size: 11px; text-transform: uppercase; letter-spacing: .06em; opacity: .8; }
.big { font-size: 34px; font-weight: 700; line-height: 1.15; }
.chips { display:flex; flex-wrap:wrap; gap:8px; align-content:center; flex:1; }
.chip { display:flex; gap:8px; align-items:center; border:1px solid var(--line); border-radius:999px;
  padding:5px 6px 5px 12px; background:#fafafa; }
.pill { display:inline-block; font-size:11px; font-weight:700; letter-spacing:.04em; border-radius:999px;
  padding:2px 9px; }
.pill.pass { background:var(--pass-bg); color:var(--pass); }
.pill.warn { background:var(--warn-bg); color:var(--warn); }
.pill.fail { background:var(--fail-bg); color:var(--fail); }
.pill.none { background:#f3f4f6; color:var(--muted); font-weight:600; }
table { border-collapse: collapse; width: 100%; }
th { text-align:left; font-size:11.5px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted);
  font-weight:600; border-bottom:1px solid var(--line); padding:6px 8px; }
td { border-bottom:1px solid #f1f2f4; padding:7px 8px; vertical-align: top; }
table.checks td:first-child { width: 64px; }
table.checks td:nth-child(3) { width: 90px; font-weight: 600; }
table.checks td:nth-child(4) { width: 200px; white-space: nowrap; }
table.compact td { padding: 4px 8px; }
table.narrow { width: auto; min-width: 55%; }
table.pairs td:nth-child(n+2) { white-space: nowrap; }
td.num { text-align:right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.notes { margin: 10px 0 0; padding-left: 18px; color: var(--warn); font-size: 12.5px; }
.grid { display:grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap:12px;
  margin: 10px 0 16px; }
.overlay { border:1px solid var(--line); border-radius:10px; padding:10px 10px 8px; }
.empty-chart { height:150px; display:flex; align-items:center; justify-content:center; }
.overlay-head { display:flex; justify-content:space-between; align-items:baseline; gap:8px; }
.row { display:flex; gap:24px; flex-wrap:wrap; align-items:flex-start; }
.grow { flex: 1; min-width: 300px; }
.legend { margin-left: 8px; white-space: nowrap; }
.swatch { display:inline-block; width:10px; height:10px; border-radius:2px; margin: 0 4px 0 10px; }
.swatch.real { background: var(--real); } .swatch.synthetic { background: var(--synthetic); }
.swatch.holdout { background: var(--holdout); }
svg.chart { display:block; max-width:100%; height:auto; }
.chart .gridline { stroke:#eef0f3; } .chart .axis { stroke:#9ca3af; }
.chart .tick { font-size:10px; fill:var(--muted); }
.chart .cellnum { font-size:10px; }
.chart .cell { stroke:#fff; stroke-width:1; }
.chart .real.area { fill:rgba(37,99,235,.25); stroke:var(--real); stroke-width:1.2; }
.chart .holdout.area { fill:rgba(100,116,139,.28); stroke:var(--holdout); stroke-width:1.2; }
.chart .synthetic.line { fill:none; stroke:var(--synthetic); stroke-width:2; }
.chart .real.bar { fill:var(--real); } .chart .synthetic.bar { fill:var(--synthetic); }
.scorebar { vertical-align: middle; }
details summary { cursor: pointer; color: var(--muted); }
.method p { margin: 0 0 8px; }
"""
