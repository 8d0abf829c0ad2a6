"""Hooks, custom Functions, forward AD, torch.func and gradcheck against PyTorch 2.13.

The scenarios (tests/autograd_scenarios.py) run here on gradcli, with gradcli's `torch`
namespace and sandboxed attribute access; the expected records come from running the
same scenarios under torch (tools/gen_autograd_scenarios.py ->
tests/data/autograd_scenarios.json). Torch is not needed here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from autograd_scenarios import SCENARIOS, shown

from gradcli.sandbox.attributes import get_attribute
from gradcli.sandbox.scope import TORCH, Namespace
from gradcli.torch import runtime_state

EXPECTED = json.loads(
    (Path(__file__).parent / "data" / "autograd_scenarios.json").read_text())["scenarios"]


class ModuleView:
    """`torch.X.Y` read as a program reads it, for Python-level scenarios."""

    def __init__(self, namespace: Namespace):
        self._namespace = namespace

    def __getattr__(self, name):
        value = self._namespace.get(name)
        return ModuleView(value) if isinstance(value, Namespace) else value


def run_scenario(name) -> list:
    values: list = []
    runtime_state.reset()
    try:
        SCENARIOS[name](ModuleView(TORCH), get_attribute, lambda v: values.append(shown(v)))
    finally:
        runtime_state.reset()
    return values


def test_every_scenario_has_an_expected_record():
    assert sorted(EXPECTED) == sorted(SCENARIOS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_matches_pytorch(name):
    assert run_scenario(name) == EXPECTED[name]
