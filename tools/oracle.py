"""Run a gradcli program under real PyTorch and print the SPEC §2.1 JSON document.

Usage (with the oracle interpreter, which has torch installed):

    /opt/oracle/bin/python tools/oracle.py FILE.expr
    /opt/oracle/bin/python tools/oracle.py --batch FILE.expr...   # JSON lines

The program text is compiled with the filename ``"<program>"`` and executed
with the names of SPEC §1.3 in scope, so the document is what gradcli must
produce for the same text.  This file is never imported by the test-suite.
"""

from __future__ import annotations

import builtins
import io
import json
import math
import os
import sys
import traceback
import warnings
from contextlib import redirect_stdout

import torch
import torch.nn.functional as F

PROGRAM = "<program>"

# Bare names of SPEC §1.3 that `from torch import *` binds to torch's objects.
TORCH_BARE = """
tensor Tensor FloatTensor DoubleTensor empty zeros ones full arange linspace eye
rand randn randint zeros_like ones_like full_like rand_like randn_like manual_seed
add sub mul div true_divide pow neg matmul mm mv dot outer
exp log log2 log10 log1p expm1 sqrt rsqrt sin cos tan tanh sigmoid relu sign
square reciprocal clamp clip maximum minimum where
mean prod amax amin argmax argmin norm var std logsumexp
reshape flatten squeeze unsqueeze transpose permute t cat stack
softmax log_softmax
no_grad enable_grad is_grad_enabled
float32 float64 double int64 long int32
""".split()

# SPEC §1.1 allows `with set_grad_enabled(False):` without `torch.`, although
# `from torch import *` does not export it.
EXTRA_BARE = {"set_grad_enabled": torch.set_grad_enabled}

# SPEC §1.3: `abs min max sum` act like Python's on Python numbers and like
# torch's on tensors.  (`from torch import *` would bind torch's versions, which
# reject Python numbers; plain builtins would iterate over tensors.)
HYBRID = ("abs", "min", "max", "sum", "pow")


def _hybrid(name: str):
    py_fn = getattr(builtins, name)
    torch_fn = getattr(torch, name)

    def call(*args, **kwargs):
        if any(isinstance(a, torch.Tensor) for a in (*args, *kwargs.values())):
            return torch_fn(*args, **kwargs)
        return py_fn(*args, **kwargs)

    call.__name__ = name
    return call


def make_builtins() -> dict:
    """The builtins dict of the program: Python's, plus the §1.3 names.

    The names live in ``__builtins__`` rather than in the globals so that the
    globals hold only what the program itself bound, in binding order.
    """
    ns = dict(builtins.__dict__)
    for name in TORCH_BARE:
        ns[name] = getattr(torch, name)
    ns.update(EXTRA_BARE)
    for name in HYBRID:
        ns[name] = _hybrid(name)
    ns["torch"] = torch
    ns["F"] = F
    return ns


def jsonable(value):
    """tolist() output with NaN and infinities as strings."""
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
    return value


def position(code, lasti: int) -> tuple[int | None, int | None]:
    """1-based (line, column) of the instruction at byte offset `lasti`."""
    positions = list(code.co_positions())
    index = lasti // 2
    if 0 <= index < len(positions):
        line, _end_line, col, _end_col = positions[index]
        return line, (col + 1 if col is not None else None)
    return None, None


def program_frame():
    frame = sys._getframe()
    while frame is not None and frame.f_code.co_filename != PROGRAM:
        frame = frame.f_back
    return frame


def tensor_record(name: str, t: torch.Tensor) -> dict:
    grad = t.grad
    return {
        "name": name,
        "shape": list(t.shape),
        "dtype": str(t.dtype).removeprefix("torch."),
        "requires_grad": t.requires_grad,
        "is_leaf": t.is_leaf,
        "grad_fn": type(t.grad_fn).__name__ if t.grad_fn is not None else None,
        "data": jsonable(t.detach().tolist()),
        "grad": jsonable(grad.detach().tolist()) if grad is not None else None,
    }


def collect_tensors(env: dict) -> list[dict]:
    with warnings.catch_warnings():
        # reading .grad of a non-leaf warns; the harness must not add warnings
        warnings.simplefilter("ignore")
        return [tensor_record(k, v) for k, v in env.items() if isinstance(v, torch.Tensor)]


def split_lines(text: str) -> list[str]:
    if not text:
        return []
    if text.endswith("\n"):
        text = text[:-1]
    return text.split("\n")


def run_program(source: str) -> dict:
    doc = {"version": 1, "ok": True, "stdout": [], "warnings": [], "tensors": [], "error": None}
    try:
        code = compile(source, PROGRAM, "exec")
    except SyntaxError as e:
        doc["ok"] = False
        doc["error"] = {
            "type": "SyntaxError",
            "message": e.msg,
            "line": e.lineno,
            "column": e.offset,
        }
        return doc

    env: dict = {"__builtins__": make_builtins(), "__name__": "__main__"}
    out = io.StringIO()
    shown: list[dict] = []

    def showwarning(message, category, filename, lineno, file=None, line=None):
        frame = program_frame()
        line_no, column = (None, None)
        if frame is not None:
            line_no, column = position(frame.f_code, frame.f_lasti)
        if filename == PROGRAM:
            line_no = lineno
        shown.append({"message": str(message), "line": line_no, "column": column})

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        # torch.func and forward_ad import torch.jit lazily, which warns from inside torch;
        # Python's default filters hide a DeprecationWarning raised outside __main__, so a
        # user running the script never sees it.
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated",
                                category=DeprecationWarning)
        # Python's default filters ignore ImportWarning (`from . import x` in a script warns
        # that it cannot resolve the package before it raises ImportError)
        warnings.filterwarnings("ignore", category=ImportWarning)
        warnings.showwarning = showwarning
        try:
            with redirect_stdout(out):
                exec(code, env)
        except Exception as e:  # noqa: BLE001 - every program error is data here
            line_no, column = None, None
            tb = e.__traceback__
            while tb is not None:
                if tb.tb_frame.f_code.co_filename == PROGRAM:
                    line_no, column = position(tb.tb_frame.f_code, tb.tb_lasti)
                    if line_no is None:
                        line_no = tb.tb_lineno
                tb = tb.tb_next
            doc["ok"] = False
            doc["error"] = {
                "type": type(e).__name__,
                "message": str(e),
                "line": line_no,
                "column": column,
            }

    doc["stdout"] = split_lines(out.getvalue())
    doc["warnings"] = shown
    env.pop("__builtins__", None)
    doc["tensors"] = collect_tensors(env)
    return doc


def document_text(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        source = f.read()
    return json.dumps(run_program(source), indent=1, sort_keys=False) + "\n"


def run_forked(path: str) -> str:
    """document_text(path) in a forked child of this torch-initialised process.

    Each program gets a process in which no program ran before, so warnings
    PyTorch issues once per process behave as in a fresh interpreter, without
    paying for `import torch` again.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        status = 0
        try:
            data = document_text(path).encode("utf-8")
        except BaseException:  # noqa: BLE001 - report and exit, never return
            data = traceback.format_exc().encode("utf-8")
            status = 1
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(data)
        os._exit(status)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read().decode("utf-8")
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise RuntimeError(f"oracle failed on {path}:\n{data}")
    return data


def main(argv: list[str]) -> int:
    if len(argv) == 1 and argv[0] != "--batch":
        sys.stdout.write(document_text(argv[0]))
        return 0
    if len(argv) >= 1 and argv[0] == "--batch":
        # one JSON object per line: {"path": ..., "document": <document text>}
        for path in argv[1:]:
            record = {"path": path, "document": run_forked(path)}
            sys.stdout.write(json.dumps(record) + "\n")
            sys.stdout.flush()
        return 0
    print("usage: oracle.py FILE.expr | oracle.py --batch FILE.expr...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
