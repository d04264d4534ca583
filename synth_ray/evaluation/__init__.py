"""Evaluating synthetic tables against real ones: fidelity first (issue 3 adds the rest)."""
