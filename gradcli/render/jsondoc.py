"""The JSON document of SPEC §2.1: a stable contract for scripts."""

from __future__ import annotations

import json

from gradcli.render.values import to_data
from gradcli.result import RunResult

VERSION = 1


def tensor_record(name: str, t) -> dict:
    return {
        "name": name,
        "shape": list(t.shape),
        "dtype": t.dtype.name,
        "requires_grad": t.requires_grad,
        "is_leaf": t.grad_fn is None,
        "grad_fn": t.grad_fn.name() if t.grad_fn is not None else None,
        "data": to_data(t.array),
        "grad": to_data(t.grad.array) if t.grad is not None else None,
    }


def document(result: RunResult) -> dict:
    error = None
    if result.error is not None:
        error = {
            "type": result.error.type,
            "message": result.error.message,
            "line": result.error.line,
            "column": result.error.column,
        }
        if result.error.hint:
            error["hint"] = result.error.hint
    return {
        "version": VERSION,
        "ok": result.ok,
        "stdout": result.stdout_lines,
        "warnings": [
            {"message": w.message, "line": w.line, "column": w.column} for w in result.warnings
        ],
        "tensors": [tensor_record(r.name, r.tensor) for r in result.tensors],
        "error": error,
    }


def dumps(result: RunResult, extra: dict | None = None) -> str:
    """`extra`: keys only some options add ("traces" with --trace, "partials" with
    --partials)."""
    doc = document(result)
    if extra:
        doc.update(extra)
    return json.dumps(doc, indent=2, allow_nan=False)
