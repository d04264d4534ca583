"""``synth-ray report``: a self-contained HTML report and JSON metrics, run as users run it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import synth_ray
from synth_ray.evaluation.report_html import render_html

SYNTH_RAY = str(Path(sys.executable).parent / "synth-ray")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SYNTH_RAY, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def tables(tmp_path_factory, diamonds, diamonds_model) -> Path:
    folder = tmp_path_factory.mktemp("report")
    train, holdout = diamonds.iloc[:4_000], diamonds.iloc[4_000:]
    train.to_parquet(folder / "real.parquet", index=False)
    holdout.to_parquet(folder / "holdout.parquet", index=False)
    diamonds_model.sample(4_000, seed=1).to_csv(folder / "fake.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def report(tables) -> subprocess.CompletedProcess[str]:
    return run("report", str(tables / "real.parquet"), str(tables / "fake.csv"),
               "--holdout", str(tables / "holdout.parquet"), "--target", "cut",
               "--out", str(tables / "out" / "report.html"), "--json", str(tables / "m.json"), "-q")


def test_report_writes_html_and_json(report, tables):
    assert report.returncode == 0, report.stderr
    assert "evaluated 4,000 synthetic against 4,000 real rows" in report.stdout
    assert "Quality score (SDMetrics definition)" in report.stdout
    metrics = json.loads((tables / "m.json").read_text())
    assert metrics["verdict"] in {"pass", "warn", "fail"}
    assert metrics["utility"]["target"] == "cut" and metrics["privacy"]["dcr_share"] is not None
    assert 0.85 < metrics["quality"]["score"] <= 1.0
    page = (tables / "out" / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") >= 12
    assert "Utility: predicting <code>cut</code>" in page and "Privacy" in page
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)  # self-contained
    assert "<script" not in page


def test_report_refuses_bad_input_with_exit_code_3(tables):
    done = run("report", str(tables / "real.parquet"), str(tables / "fake.csv"),
               "--holdout", str(tables / "holdout.parquet"), "--target", "colour",
               "--out", str(tables / "bad.html"), "-q")
    assert done.returncode == 3
    assert "did you mean 'color'" in done.stderr and not (tables / "bad.html").exists()


def test_report_is_listed_in_help():
    assert "report" in run("--help").stdout
    assert "--holdout HOLDOUT" in run("report", "--help").stdout


def test_report_without_holdout_says_what_was_not_run(diamonds, diamonds_model):
    result = synth_ray.evaluate(diamonds, diamonds_model.sample_arrow(2_000, seed=4),
                                diamonds_model.metadata,
                                settings={"detection_rows": 300, "detection_folds": 2})
    page = render_html(result, real_name="real <table>", synthetic_name="fake & co")
    assert "Pass a holdout" in page and "utility: not run" in page
    assert "real &lt;table&gt;" in page and "fake &amp; co" in page  # names are escaped


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_report_renders_headless(report, tables):
    png = tables / "report.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1280,3000", f"--screenshot={png}",
                    (tables / "out" / "report.html").as_uri()],
                   check=True, capture_output=True, timeout=120)
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(header[16:20], "big") == 1280 and png.stat().st_size > 50_000
