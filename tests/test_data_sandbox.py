"""torch.utils.data, the added nn.init functions and lr schedulers keep the sandbox's
promise: datasets, samplers, loaders and schedulers expose the attributes PyTorch documents
and nothing of gradcli's machinery; each escape attempt ends in the error Python gives for
a missing attribute, at its line, with nothing printed."""

from __future__ import annotations

import pytest

from gradcli.runtime.interpreter import run
from tests.sandbox_escapes import REFUSALS, assert_escape_refused

SETUP = (
    "import torch\n"
    "from torch.utils.data import DataLoader, TensorDataset, RandomSampler, Dataset\n"
    "ds = TensorDataset(torch.arange(4.))\n"
    "loader = DataLoader(ds, batch_size=2, shuffle=True)\n"
)
SCHEDULER_SETUP = (
    "import torch\n"
    "from torch.optim.lr_scheduler import LambdaLR, ReduceLROnPlateau, OneCycleLR\n"
    "opt = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)\n"
    "sched = LambdaLR(opt, lambda e: 0.5 ** e)\n"
)
ESCAPES = [
    "loader.__dict__",
    "loader._index_sampler",
    "loader.collate_fn.__globals__",
    "loader.collate_fn.__code__",
    "DataLoader.__init__.__globals__",
    "DataLoader.__iter__.__globals__",
    "ds.__class__.__bases__",
    "Dataset.__subclasses__()",
    "loader.sampler.__iter__.__globals__",
    "torch.utils.data.random_split.__globals__",
    "torch.utils.__dict__",
    "torch.utils.data.__dict__",
]
SCHEDULER_ESCAPES = [
    "sched.__dict__",
    "sched.get_lr.__func__",
    "sched.step.__globals__",
    "sched.lr_lambdas[0].__globals__",
    "sched.optimizer.__dict__",
    "sched.optimizer._gx_step_watched",
    "ReduceLROnPlateau(opt)._is_better.__globals__",
    "ReduceLROnPlateau.__init__.__globals__",
    "OneCycleLR(opt, 1.0, total_steps=3)._anneal.__code__",
    "torch.nn.init.trunc_normal_.__globals__",
    "torch.nn.init.orthogonal_.__code__",
    "torch.nn.init.dirac_.__closure__",
]


@pytest.mark.parametrize("expression", SCHEDULER_ESCAPES)
def test_escape_through_schedulers_and_init_is_refused(expression: str) -> None:
    # a reserved `_gx_` name is refused before the run
    assert_escape_refused(SCHEDULER_SETUP, expression, (*REFUSALS, "SyntaxError"))


def test_a_program_scheduler_subclass_runs() -> None:
    source = SCHEDULER_SETUP.replace("LambdaLR, ", "LambdaLR, LRScheduler, ") + (
        "class Halving(LRScheduler):\n"
        "    def get_lr(self):\n"
        "        if self._is_initial:\n"
        "            return [g['lr'] for g in self.optimizer.param_groups]\n"
        "        return [g['lr'] / 2 for g in self.optimizer.param_groups]\n"
        "h = Halving(opt)\n"
        "for i in range(3):\n"
        "    opt.step()\n"
        "    h.step()\n"
        "print(h.get_last_lr(), h.last_epoch)\n")
    result = run(source, "<program>")
    assert result.error is None, result.error
    assert result.stdout == "[0.0125] 3\n"


@pytest.mark.parametrize("expression", ESCAPES)
def test_escape_through_data_surface_is_refused(expression: str) -> None:
    assert_escape_refused(SETUP, expression)


def test_documented_attributes_are_reachable() -> None:
    result = run(SETUP + "print(loader.batch_size, loader.drop_last, len(loader.dataset),"
                 " loader.sampler.num_samples, loader.batch_sampler.batch_size,"
                 " ds.tensors[0].shape)\n", "<program>")
    assert result.error is None, result.error
    assert result.stdout == "2 False 4 4 2 torch.Size([4])\n"


def test_a_program_dataset_runs_under_the_step_budget() -> None:
    source = (
        "import torch\nfrom torch.utils.data import Dataset, DataLoader\n"
        "class Forever(Dataset):\n"
        "    def __len__(self):\n"
        "        return 10\n"
        "    def __getitem__(self, i):\n"
        "        while True:\n"
        "            pass\n"
        "for b in DataLoader(Forever(), batch_size=2):\n"
        "    print(b)\n"
    )
    result = run(source, "<program>")
    assert result.error is not None
    assert result.error.line in (7, 8)
    assert result.stdout == ""


def test_no_workers_means_a_clear_message() -> None:
    result = run(SETUP + "DataLoader(ds, num_workers=2)\n", "<program>")
    assert result.error is not None
    assert result.error.type == "NotImplementedError"
    assert "num_workers=0" in result.error.message
