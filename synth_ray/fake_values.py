"""Fake personal data that has the shape of the real column but none of its values.

Faker is far too slow to call once per row at millions of rows per second, so each
pii column draws from small pools of Faker values (built once per process, seeded
from the sampling seed and the column) and combines them with vectorized Arrow
string kernels: e.g. 512 first names x 512 last names give 262,144 distinct names.
Everything is deterministic in (seed, column, row's chunk).
"""

from __future__ import annotations

import functools
import hashlib
import unicodedata
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synth_ray.metadata import PiiType

__all__ = ["DEFAULT_PHONE_MASK", "fake_strings", "phone_mask_of"]

DEFAULT_PHONE_MASK = "###-###-####"
_POOL = 512


def phone_mask_of(values: list[str]) -> str:
    """The most common shape of ``values`` with every digit replaced by ``#``."""
    masks: dict[str, int] = {}
    for v in values:
        m = "".join("#" if ch.isdigit() else ch for ch in v)
        masks[m] = masks.get(m, 0) + 1
    return max(masks, key=lambda k: masks[k]) if masks else DEFAULT_PHONE_MASK


def _ascii_lower(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


@functools.lru_cache(maxsize=64)
def _pool(kind: str, locale: str, pool_seed: int) -> pa.Array:
    if kind.endswith("_ascii"):  # e-mail local parts: plain lower-case letters
        base = _pool(kind.removesuffix("_ascii"), locale, pool_seed).to_pylist()
        return pa.array([_ascii_lower(v) or "user" for v in base], type=pa.string())
    from faker import Faker

    fake = Faker(locale)
    fake.seed_instance(pool_seed)
    makers: dict[str, Callable[[], str]] = {
        "first": fake.first_name, "last": fake.last_name, "domain": fake.free_email_domain,
        "street": fake.street_address, "city": fake.city, "state": fake.state_abbr,
        "zip": fake.postcode, "sentence": lambda: fake.sentence(nb_words=10),
    }
    return pa.array([makers[kind]() for _ in range(_POOL)], type=pa.string())


def _pool_seed(seed: int, column: str, kind: str) -> int:
    base = kind.removesuffix("_ascii")  # the ascii pool derives from its base pool
    digest = hashlib.sha256(f"{seed}\x00{column}\x00{base}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def _draw(kind: str, *, seed: int, column: str, locale: str, rng: np.random.Generator,
          n: int) -> pa.Array:
    pool = _pool(kind, locale, _pool_seed(seed, column, kind))
    return pool.take(pa.array(rng.integers(0, len(pool), size=n)))


def _email(draw: Callable[[str], pa.Array], rng: np.random.Generator, n: int) -> pa.Array:
    first, last = draw("first_ascii"), draw("last_ascii")
    number = pa.array(rng.integers(1, 1000, size=n)).cast(pa.string())
    local = pc.binary_join_element_wise(first, ".", last, number, "")
    return pc.binary_join_element_wise(local, draw("domain"), "@")


def _phone(mask: str, rng: np.random.Generator, n: int) -> pa.Array:
    template = np.frombuffer(mask.encode("ascii", "replace"), dtype=np.uint8)
    slots = np.flatnonzero(template == ord("#"))
    chars = np.broadcast_to(template, (n, len(template))).copy()
    chars[:, slots] = rng.integers(ord("0"), ord("9") + 1, size=(n, len(slots)), dtype=np.uint8)
    fixed = np.ascontiguousarray(chars).view(f"S{len(template)}").ravel()
    return pa.array(fixed, type=pa.binary(len(template))).cast(pa.string())


def fake_strings(pii_type: PiiType, *, n: int, rng: np.random.Generator, seed: int, column: str,
                 locale: str = "en_US", phone_mask: str = DEFAULT_PHONE_MASK,
                 sentences: int = 1) -> pa.Array:
    """``n`` fake values of ``pii_type`` as an Arrow string array.

    Args:
        pii_type: which kind of personal data to imitate.
        n: number of values.
        rng: the chunk's generator for this column: it picks pool entries per row.
        seed: the sampling seed: it picks the pools.
        column: the column's name: two pii columns get different pools.
        locale: Faker locale of the pools.
        phone_mask: shape of phone numbers, ``#`` for a digit.
        sentences: sentences per value of a free-text column.
    """
    def draw(kind: str) -> pa.Array:
        return _draw(kind, seed=seed, column=column, locale=locale, rng=rng, n=n)

    if pii_type is PiiType.PERSON_NAME:
        return pc.binary_join_element_wise(draw("first"), draw("last"), " ")
    if pii_type is PiiType.EMAIL:
        return _email(draw, rng, n)
    if pii_type is PiiType.PHONE:
        return _phone(phone_mask, rng, n)
    if pii_type is PiiType.ADDRESS:
        street_city = pc.binary_join_element_wise(draw("street"), draw("city"), ", ")
        state_zip = pc.binary_join_element_wise(draw("state"), draw("zip"), " ")
        return pc.binary_join_element_wise(street_city, state_zip, ", ")
    parts = [draw("sentence") for _ in range(max(1, sentences))]
    return pc.binary_join_element_wise(*parts, " ")
