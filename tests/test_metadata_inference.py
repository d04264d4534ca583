"""Inference rules, and the spec winning over them."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

import synth_ray
from synth_ray import ColumnKind, ConfigError, PiiType


def kinds(table: pa.Table, spec=None) -> dict[str, tuple[str, str | None]]:
    meta = synth_ray.infer_metadata(table, spec=synth_ray.load_table_spec(spec))
    return {c.name: (c.kind.value, c.pii_type.value if c.pii_type else None) for c in meta}


def test_every_rule_on_the_mixed_table(mixed_table):
    assert kinds(mixed_table) == {
        "order_id": ("id", None),
        "customer_key": ("id", None),
        "email": ("pii", "email"),
        "phone": ("pii", "phone"),
        "full_name": ("pii", "person_name"),
        "amount": ("numerical", None),
        "quantity": ("numerical", None),
        "segment": ("categorical", None),
        "region": ("categorical", None),
        "is_member": ("boolean", None),
        "created_at": ("datetime", None),
        "birth_date": ("datetime", None),
        "always_null": ("numerical", None),
    }


def test_statistics(mixed_table):
    meta = synth_ray.infer_metadata(mixed_table)
    amount = meta["amount"]
    assert amount.decimals == 2
    assert 0.05 < amount.null_fraction < 0.15
    assert amount.min == pytest.approx(min(v for v in mixed_table["amount"].to_pylist() if v is not None))
    assert meta["quantity"].decimals == 0
    assert meta["created_at"].unit == "us" and meta["created_at"].timezone == "UTC"
    assert meta["birth_date"].unit == "D" and meta["birth_date"].timezone is None
    assert meta["segment"].n_categories == 3
    assert meta["always_null"].null_fraction == 1.0


def test_key_names_need_unique_values():
    table = pa.table({"paid": [1, 2, 3], "user_id": [1, 1, 2], "orderId": [5, 6, 7]})
    assert kinds(table) == {"paid": ("numerical", None), "user_id": ("numerical", None),
                            "orderId": ("id", None)}


def test_free_text_is_pii():
    text = [f"note number {i}: the parcel arrived late and the box was damaged" for i in range(50)]
    assert kinds(pa.table({"comment": text}))["comment"] == ("pii", "text")


def test_spec_wins(tmp_path, mixed_table):
    spec = {"columns": {"quantity": {"kind": "categorical"}, "segment": {"pii_type": "text"},
                        "amount": {"min": 0, "max": 10_000, "decimals": 1}}}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    got = kinds(mixed_table, path)
    assert got["quantity"] == ("categorical", None)
    assert got["segment"] == ("pii", "text")
    meta = synth_ray.infer_metadata(mixed_table, spec=synth_ray.load_table_spec(path))
    assert (meta["amount"].min, meta["amount"].max, meta["amount"].decimals) == (0, 10_000, 1)


def test_yaml_spec(tmp_path, mixed_table):
    path = tmp_path / "spec.yaml"
    path.write_text("columns:\n  segment: {kind: pii, pii_type: person_name}\n")
    assert kinds(mixed_table, path)["segment"] == ("pii", "person_name")


@pytest.mark.parametrize(("spec", "message"), [
    ({"columns": {"segmnt": {"kind": "categorical"}}}, "did you mean 'segment'"),
    ({"columns": {"segment": {"kinds": "categorical"}}}, "did you mean 'kind'"),
    ({"columns": {"segment": {"kind": "categorial"}}}, "kind is one of"),
    ({"columns": {"segment": {"kind": "pii"}}}, "needs a pii_type"),
    ({"colums": {}}, "did you mean 'columns'"),
])
def test_bad_specs_are_refused_with_the_fix(spec, message, mixed_table):
    with pytest.raises(ConfigError, match=message):
        synth_ray.infer_metadata(mixed_table, spec=synth_ray.load_table_spec(spec))


def test_yaml_spec_cannot_run_code(tmp_path, mixed_table):
    path = tmp_path / "evil.yaml"
    path.write_text("columns: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        synth_ray.load_table_spec(path)


def test_metadata_json_round_trip(mixed_table):
    meta = synth_ray.infer_metadata(mixed_table)
    again = synth_ray.TableMetadata.from_dict(json.loads(json.dumps(meta.to_dict())))
    assert again == meta
    assert again.arrow_schema.equals(mixed_table.schema, check_metadata=True)
    assert again["email"].pii_type is PiiType.EMAIL and again["amount"].kind is ColumnKind.NUMERICAL
