"""The JSON document of SPEC §2.1: a stable contract for scripts.

A tensor's `data` and `grad` are nested lists of every element. For a large tensor the
lists are never built as Python objects (10**8 floats would be gigabytes): the document
is written with a placeholder where each large array goes, and the array is streamed in
its place, chunk by chunk, in exactly the text `json.dumps` would have produced.
"""

from __future__ import annotations

import io
import json
import os

import numpy as np

from gradcli.runtime.result import RunResult
from gradcli.views.values import to_data

VERSION = 1
STREAM_ABOVE = 10_000  # elements; smaller arrays go through json.dumps as lists
CHUNK = 1 << 16  # elements formatted at a time


class _Streamed:
    """Marks where a large array goes; `key` is unguessable, so no user text collides."""

    def __init__(self, array: np.ndarray, key: str):
        self.array, self.key = array, key


def _data(array: np.ndarray, streamed: list | None):
    if streamed is None or array.ndim == 0 or array.size <= STREAM_ABOVE:
        return to_data(array)
    marker = _Streamed(array, f"@gradcli-array-{os.urandom(8).hex()}@")
    streamed.append(marker)
    return marker.key


def tensor_record(name: str, t, streamed: list | None = None) -> dict:
    return {
        "name": name,
        "shape": list(t.shape),
        "dtype": t.dtype.name,
        "requires_grad": t.requires_grad,
        "is_leaf": t.grad_fn is None,
        "grad_fn": t.grad_fn.name() if t.grad_fn is not None else None,
        "data": _data(t.array, streamed),
        "grad": _data(t.grad.array, streamed) if t.grad is not None else None,
    }


def document(result: RunResult, streamed: list | None = None) -> dict:
    """The document as plain data; with `streamed` (a list), large arrays are left as
    placeholders collected there, for `write`."""
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
        "tensors": [tensor_record(r.name, r.tensor, streamed) for r in result.tensors],
        "error": error,
    }


def dumps(result: RunResult, extra: dict | None = None) -> str:
    """The whole document as one string (tests, small results)."""
    out = io.StringIO()
    write(out, result, extra)
    return out.getvalue()


def write(stream, result: RunResult, extra: dict | None = None, *, indent: int | None = 2,
          head: dict | None = None) -> None:
    """Write the document to `stream` without ever holding a large array as text or lists.
    `indent=None` writes one line (JSON Lines); `head` keys come first (`"file"`)."""
    streamed: list[_Streamed] = []
    doc = {**(head or {}), **document(result, streamed), **(extra or {})}
    text = json.dumps(doc, indent=indent, allow_nan=False)
    for marker in streamed:
        before, _, text = text.partition(json.dumps(marker.key))
        stream.write(before)
        line = before.rsplit("\n", 1)[-1]  # `      "data": `: the list opens at its indent
        depth = len(line) - len(line.lstrip(" "))
        _write_array(stream.write, marker.array, depth, indent)
    stream.write(text)


def _write_array(write, array: np.ndarray, depth: int, indent: int | None) -> None:
    """`array` (1-d or more) as json.dumps lays out nested lists opened at `depth` spaces."""
    if array.shape[0] == 0:
        write("[]")
        return
    if indent is None:
        inner = close = ""
        sep = ", "
    else:
        inner = "\n" + " " * (depth + indent)
        close = "\n" + " " * depth
        sep = "," + inner
    write("[" + inner)
    if array.ndim == 1:
        for start in range(0, array.shape[0], CHUNK):
            if start:
                write(sep)
            write(_items(array[start:start + CHUNK], sep))
    else:
        for index in range(array.shape[0]):
            if index:
                write(sep)
            _write_array(write, array[index], depth + (indent or 0), indent)
    write(close + "]")


def _items(chunk: np.ndarray, sep: str) -> str:
    # json.dumps of a flat list of numbers (or "nan"/"inf" strings) has ", " only between
    # items: no number or those strings contain one.
    values = chunk.tolist() if chunk.dtype.kind != "f" or np.isfinite(chunk).all() \
        else to_data(chunk)
    return json.dumps(values, allow_nan=False)[1:-1].replace(", ", sep)
