"""Configs cannot run code (issue 10, Security): safe YAML, no eval, no shell.

Every payload here would create a marker file if it ran; each test shows that it is
refused with synth-ray's own error and that the marker does not exist afterwards.
Model artifacts (planted pickles, links, forged headers) are covered in test_artifacts.py.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import yaml

import synth_ray
from airflow_dags.config import load_table_config
from synth_ray.constraints.formula import parse_formula
from synth_ray.errors import ConfigError
from synth_ray.table_spec import load_table_spec

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("synth_ray", "airflow_dags", "expectations", "spark_udfs")


def yaml_payloads(marker: Path) -> list[str]:
    """PyYAML tags that run code or import modules under ``yaml.load`` (never ``safe_load``)."""
    command = f"touch {marker}"
    return [
        f"!!python/object/apply:os.system ['{command}']",
        f"!!python/object/apply:subprocess.check_call [['touch', '{marker}']]",
        f"!!python/object/new:subprocess.Popen [['touch', '{marker}']]",
        "!!python/name:os.system",
        "!!python/module:os",
        "!!python/object:builtins.exec {}",
        f"columns: !!python/object/apply:os.system ['{command}']",  # nested inside a value
        f"columns:\n  price: {{kind: !!python/object/apply:os.system ['{command}']}}",
        f"a: &payload !!python/object/apply:os.system ['{command}']\ncolumns: *payload",
    ]


@pytest.mark.parametrize("index", range(9))
def test_yaml_tags_in_a_table_spec_are_refused_without_running(tmp_path, index):
    marker = tmp_path / "pwned"
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml_payloads(marker)[index], encoding="utf-8")
    with pytest.raises(ConfigError, match="spec.yaml' is not valid YAML/JSON: could not determine a constructor"):
        load_table_spec(spec)
    with pytest.raises(ConfigError):
        synth_ray.fit(pa.table({"price": [1.0, 2.0]}), spec=spec)
    assert not marker.exists()


@pytest.mark.parametrize("index", range(9))
def test_yaml_tags_in_a_table_config_are_refused_without_running(tmp_path, index):
    marker = tmp_path / "pwned"
    config = tmp_path / "orders.yaml"
    body = yaml_payloads(marker)[index].replace("columns", "source")
    config.write_text(f"name: orders\nrows: 10\n{body}\n" if body.startswith("source") else body)
    with pytest.raises(ConfigError, match="orders.yaml: not valid YAML: could not determine a constructor"):
        load_table_config(config)
    assert not marker.exists()


def test_json_spec_cannot_carry_yaml_tags_either(tmp_path):
    marker = tmp_path / "pwned"
    spec = tmp_path / "spec.json"
    spec.write_text(f"!!python/object/apply:os.system ['touch {marker}']")
    with pytest.raises(ConfigError, match="is not valid YAML/JSON: Expecting value"):
        load_table_spec(spec)
    spec.write_text(json.dumps({"columns": {"price": {"kind": "__import__('os').system('x')"}}}))
    with pytest.raises(ConfigError, match="spec of column 'price'.*kind is one of numerical"):
        load_table_spec(spec)
    assert not marker.exists()


def formula_payloads(marker: Path) -> list[str]:
    return [
        f"__import__('os').system('touch {marker}')",
        "price.__class__.__bases__[0].__subclasses__()",
        "price.real",
        "lambda: price",
        f"(lambda: __import__('os').system('touch {marker}'))()",
        "price if quantity else 0",
        "price ** quantity",
        "price[0]",
        "[x for x in price]",
        "eval('1')",
        f"exec('open(\"{marker}\", \"w\")')",
        "price; import os",
        "price\n__import__('os')",
        "'text'",
        "f'{price}'",
        "price == quantity",
        "price @ quantity",
        "open('/etc/passwd')",
        "price, quantity",
        "{price: 1}",
    ]


@pytest.mark.parametrize("index", range(20))
def test_formulas_cannot_evaluate_python(tmp_path, index):
    marker = tmp_path / "pwned"
    expression = formula_payloads(marker)[index]
    with pytest.raises(ConfigError, match=r"formula .*(cannot read|unexpected text|expected)"):
        parse_formula(expression)
    table = pa.table({"price": [1.0, 2.0, 3.0] * 5, "quantity": [1.0, 2.0, 2.0] * 5,
                      "total": [1.0, 4.0, 6.0] * 5})
    spec = {"constraints": [{"type": "formula", "column": "total", "expression": expression}]}
    with pytest.raises(ConfigError, match="formula"):
        synth_ray.fit(table, spec=spec)
    assert not marker.exists()


@pytest.mark.parametrize(("expression", "expected"), [
    ("(" * 1_000 + "price" + ")" * 1_000, "has 2001 tokens, more than 256"),  # was a RecursionError
    ("(" * 40 + "price" + ")" * 40, "parentheses nested more than 32 deep"),
    ("-" * 1_000 + "price", "has 1001 tokens, more than 256"),  # was a RecursionError
    ("price" + " + price" * 100_000, "characters long"),  # evaluated, it overflowed the stack
    ("1e999 * price", "a number too large for float64 at '1e999'"),
])
def test_pathological_formulas_are_refused_not_crashing(expression, expected):
    with pytest.raises(ConfigError, match=expected):
        parse_formula(expression)


def test_arithmetic_formulas_still_work():
    formula = parse_formula("(`unit price` - discount) * -quantity / 2 + 1.5e1")
    values = {"unit price": np.array([10.0]), "discount": np.array([2.0]), "quantity": np.array([3.0])}
    assert formula.columns == ("unit price", "discount", "quantity")
    assert formula.evaluate(values).tolist() == [3.0]
    deep = parse_formula("(" * 32 + "price" + ")" * 32 + " + price" * 90)
    assert deep.evaluate({"price": np.array([1.0])}).tolist() == [91.0]


def _calls(tree: ast.AST) -> list[tuple[str, ast.Call]]:
    """Every call with its dotted name (``yaml.load``, ``eval``, ``subprocess.run``...)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            parts, target = [], node.func
            while isinstance(target, ast.Attribute):
                parts.append(target.attr)
                target = target.value
            if isinstance(target, ast.Name):
                parts.append(target.id)
            found.append((".".join(reversed(parts)), node))
    return found


def _unsafe(name: str, call: ast.Call) -> str | None:
    keywords = {k.arg: k.value for k in call.keywords}
    if name in ("eval", "exec", "compile", "__import__", "os.system", "os.popen", "marshal.loads"):
        return "runs code"
    if name.endswith(("pickle.load", "pickle.loads", "cloudpickle.loads", "dill.loads")):
        return "unpickles"
    if name in ("yaml.load", "yaml.unsafe_load", "yaml.full_load", "yaml.load_all"):
        return "YAML that can construct Python objects (use yaml.safe_load)"
    if name.startswith("subprocess.") and isinstance(keywords.get("shell"), ast.Constant) \
            and keywords["shell"].value:
        return "runs a shell"
    weights_only = keywords.get("weights_only")
    if name == "torch.load" and not (isinstance(weights_only, ast.Constant) and weights_only.value is True):
        return "unpickles (torch.load without weights_only=True)"
    return None


def test_no_package_evaluates_unpickles_or_shells_out():
    """A scan of every module that ships: the configs' and artifacts' safety must not regress."""
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for name, call in _calls(ast.parse(path.read_text(encoding="utf-8"))):
                reason = _unsafe(name, call)
                if reason:
                    offenders.append(f"{path.relative_to(ROOT)}:{call.lineno}: {name}() {reason}")
    assert not offenders, "\n".join(offenders)


def test_the_scan_catches_what_it_looks_for():
    source = ("import yaml, subprocess, torch\nyaml.load(t)\neval(x)\nsubprocess.run(c, shell=True)\n"
              "torch.load(p)\ntorch.load(p, weights_only=True)\nyaml.safe_load(t)\n")
    flagged = [name for name, call in _calls(ast.parse(source)) if _unsafe(name, call)]
    assert flagged == ["yaml.load", "eval", "subprocess.run", "torch.load"]


def test_safe_yaml_still_reads_ordinary_specs(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"columns": {"price": {"kind": "numerical", "min": 0}},
                                    "constraints": [{"type": "formula", "column": "total",
                                                     "expression": "price * 2"}]}))
    loaded = load_table_spec(spec)
    assert loaded.columns["price"].min == 0 and loaded.constraints[0].describe() == "total = price * 2"
