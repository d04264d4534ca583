"""Evaluating a synthetic table against the real one: faithful, useful, private, diverse.

The entry point is :func:`synth_ray.evaluation.evaluate.evaluate` (``synth_ray.evaluate``);
``synth-ray report`` renders its result as HTML. One concept per module:

* ``inputs``: checking the tables against each other, sampling, harmonizing types;
* ``encoding``: learned columns as numbers (floats, shared category codes);
* ``column_shapes``, ``pair_trends``, ``quality``: the SDMetrics-defined quality score;
* ``column_stats``: nulls, ranges, categories and distributions per column;
* ``detection``, ``utility``, ``privacy`` (with ``distances`` and ``row_hashes``),
  ``diversity``: the other metrics;
* ``verdicts``: the documented pass / warn / fail thresholds;
* ``evaluate``: the API, the typed result and its JSON;
* ``report_html``, ``report_style``, ``svg_charts``: the self-contained HTML report.
"""
