"""Formulas of columns (``price * quantity``), parsed safely: never ``eval``.

The grammar is tiny: numbers, column names, ``+ - * /``, unary minus and
parentheses. Names are identifiers, or any column name in backquotes
(`` `unit price` ``). A formula parses into a small tree that evaluates on numpy
arrays (vectorized) and lists the columns it reads. Anything else (calls, attributes,
``**``, comparisons) is refused with the position of the offending text, and so is a
formula too long or too deeply nested to parse without exhausting the stack.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from synth_ray.errors import ConfigError

__all__ = ["Formula", "parse_formula"]

_TOKEN = re.compile(r"\s*(?:(?P<number>\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
                    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|`(?P<quoted>[^`]+)`|(?P<op>[-+*/()]))")
_OPS = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}
# Bounds that keep parsing and evaluation (both recursive) far from Python's recursion limit.
_MAX_TOKENS = 256
_MAX_DEPTH = 32


@dataclass(frozen=True)
class _Node:
    """A parsed formula: a number, a column, or an operator over two nodes (``-x`` is ``0 - x``)."""

    op: str  # "num", "col", or one of + - * /
    value: float = 0.0
    name: str = ""
    left: _Node | None = None
    right: _Node | None = None


@dataclass(frozen=True)
class Formula:
    """A parsed formula and its source text.

    Attributes:
        text: the formula as written.
        columns: the columns it reads, in order of first use.
    """

    text: str
    columns: tuple[str, ...]
    _tree: _Node

    def evaluate(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """The formula over float64 arrays; division by zero gives ``inf``/``nan``."""
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.asarray(_evaluate(self._tree, values), dtype=np.float64)


def _evaluate(node: _Node, values: Mapping[str, np.ndarray]) -> np.ndarray | float:
    if node.op == "num":
        return node.value
    if node.op == "col":
        return np.asarray(values[node.name], dtype=np.float64)
    if node.left is None or node.right is None:
        raise ValueError(f"malformed formula node {node.op!r}")
    return _OPS[node.op](_evaluate(node.left, values), _evaluate(node.right, values))


class _Parser:
    """Recursive descent: expr := term (('+'|'-') term)*; term := unary (('*'|'/') unary)*."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        position = 0
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                if not text[position:].strip():
                    break
                raise ConfigError(f"formula {text!r}: cannot read {text[position:].strip()!r} "
                                  "(allowed: numbers, column names, + - * / and parentheses)")
            kind = match.lastgroup or ""
            token = match.group(kind)
            self.tokens.append(("name" if kind == "quoted" else kind, token, match.start(kind)))
            position = match.end()
        if len(self.tokens) > _MAX_TOKENS:
            raise ConfigError(f"formula {text[:40]!r}... has {len(self.tokens)} tokens, more than "
                              f"{_MAX_TOKENS}; split it, or compute the column before fitting")
        self.index = 0
        self.depth = 0
        self.columns: list[str] = []

    def _peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _fail(self, what: str) -> ConfigError:
        token = self._peek()
        where = f"at {token[1]!r} (character {token[2] + 1})" if token else "at the end"
        return ConfigError(f"formula {self.text!r}: {what} {where}")

    def parse(self) -> Formula:
        if not self.tokens:
            raise ConfigError("a formula cannot be empty; write e.g. 'price * quantity'")
        tree = self._expression()
        if self._peek() is not None:
            raise self._fail("unexpected text")
        return Formula(text=self.text, columns=tuple(self.columns), _tree=tree)

    def _binary(self, ops: str, operand: str) -> _Node:
        node = getattr(self, operand)()
        while (token := self._peek()) is not None and token[0] == "op" and token[1] in ops:
            self.index += 1
            node = _Node(op=token[1], left=node, right=getattr(self, operand)())
        return node

    def _expression(self) -> _Node:
        return self._binary("+-", "_term")

    def _term(self) -> _Node:
        return self._binary("*/", "_unary")

    def _unary(self) -> _Node:
        token = self._peek()
        if token is not None and token[:2] in (("op", "-"), ("op", "+")):
            self.index += 1
            operand = self._unary()
            return operand if token[1] == "+" else _Node(op="-", left=_Node(op="num"), right=operand)
        return self._atom()

    def _atom(self) -> _Node:
        token = self._peek()
        if token is None:
            raise self._fail("expected a number, a column or '('")
        kind, text, _ = token
        self.index += 1
        if kind == "number":
            if not np.isfinite(float(text)):
                self.index -= 1
                raise self._fail("a number too large for float64")
            return _Node(op="num", value=float(text))
        if kind == "name":
            if text not in self.columns:
                self.columns.append(text)
            return _Node(op="col", name=text)
        if text == "(":
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise self._fail(f"parentheses nested more than {_MAX_DEPTH} deep")
            node = self._expression()
            self.depth -= 1
            closing = self._peek()
            if closing is None or closing[:2] != ("op", ")"):
                raise self._fail("expected ')'")
            self.index += 1
            return node
        self.index -= 1
        raise self._fail("expected a number, a column or '('")


def parse_formula(text: str) -> Formula:
    """Parse ``text`` (e.g. ``"price * quantity"``), refusing anything but arithmetic."""
    if not isinstance(text, str):
        raise ConfigError(f"a formula must be text such as 'price * quantity', got {text!r}")
    if len(text) > _MAX_TOKENS * 16:  # refused before tokenizing: no formula this long is meant
        raise ConfigError(f"formula {text[:40]!r}... is {len(text):,} characters long, more than "
                          f"{_MAX_TOKENS * 16:,}; compute the column before fitting")
    return _Parser(text).parse()
