"""Reversible column transforms between real tables and model space."""
