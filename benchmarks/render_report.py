"""Render the evaluation report of a real table to HTML, JSON and a PNG screenshot.

The report must look good, and only a rendered page shows whether it does: this script
fits the copula on 80% of a bundled table, samples as many rows, evaluates them against
the 80% with the other 20% as holdout, writes ``report.html`` and ``metrics.json``, and
screenshots the page with headless Chromium (Debian: ``apt-get install chromium``).

Usage:
  .venv/bin/python benchmarks/render_report.py [--dataset diamonds] [--target cut]
      [--out work/report] [--width 1280]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import synth_ray
from synth_ray.evaluation.evaluate import evaluate
from synth_ray.evaluation.report_html import write_html


def chromium() -> str | None:
    """The headless browser's executable, if one is installed."""
    return next((path for name in ("chromium", "chromium-browser", "google-chrome")
                 if (path := shutil.which(name))), None)


def screenshot(html: Path, png: Path, *, width: int, height: int) -> None:
    """Screenshot ``html`` at ``width`` x ``height`` CSS pixels with headless Chromium."""
    browser = chromium()
    if browser is None:
        raise SystemExit("no chromium found: apt-get install -y chromium")
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--window-size={width},{height}", f"--screenshot={png}",
                    html.resolve().as_uri()], check=True, capture_output=True, timeout=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="diamonds")
    parser.add_argument("--target", default="cut")
    parser.add_argument("--out", default="work/report")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=4400)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    frame = synth_ray.load_dataset(args.dataset)
    train = frame.sample(frac=0.8, random_state=0)
    holdout = frame.drop(train.index)
    model = synth_ray.fit(train, seed=0)
    fake = model.sample_arrow(len(train), seed=1)
    started = time.perf_counter()
    result = evaluate(train, fake, model.metadata, holdout=holdout, target=args.target, progress=True)
    print(f"evaluated in {time.perf_counter() - started:.1f} s: {result.verdict.value}")
    html = write_html(result, out / "report.html", real_name=f"{args.dataset} (80% train)",
                      synthetic_name=f"copula sample of {len(train):,} rows",
                      holdout_name=f"{args.dataset} (20% holdout)")
    result.to_json(out / "metrics.json")
    screenshot(html, out / "report.png", width=args.width, height=args.height)
    print(f"wrote {html}, {out / 'metrics.json'} and {out / 'report.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
