"""Hypothesis strategies shared by the tests: gradcli programs (programs.py)."""
