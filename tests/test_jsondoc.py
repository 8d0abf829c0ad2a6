"""The JSON writer streams large arrays in exactly json.dumps's text (SPEC §2.1)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from gradcli.autodiff.tensor import Tensor
from gradcli.runtime.result import ErrorRecord, RunResult, TensorRecord, WarningRecord
from gradcli.views import jsondoc


def _result(*arrays, with_grad=True):
    tensors = []
    for index, array in enumerate(arrays):
        t = Tensor(np.asarray(array), requires_grad=True)
        if with_grad:
            t.grad = Tensor(np.asarray(array) * 2)
        tensors.append(TensorRecord(f"t{index}", t))
    return RunResult("f.expr", "", stdout="a\nb\n", tensors=tensors,
                     warnings=[WarningRecord("w", "UserWarning", 1, 2)],
                     error=ErrorRecord("RuntimeError", "boom", 3, 1, hint="h"))


ARRAYS = [
    np.arange(7, dtype=np.float32) / 3,
    np.array([np.nan, np.inf, -np.inf, 1.5, -0.0], dtype=np.float64),
    np.arange(24, dtype=np.int64).reshape(2, 3, 4),
    np.array([True, False, True]),
    np.zeros((3, 0), dtype=np.float32),
    np.zeros((0,), dtype=np.float32),
    np.ones((2, 1, 3), dtype=np.float64) / 7,
    np.float32(2.5),  # 0-d: a bare number, never streamed
]


@pytest.mark.parametrize("indent", [2, None])
@pytest.mark.parametrize("array", ARRAYS, ids=lambda a: f"{a.dtype}{list(np.shape(a))}")
def test_streamed_text_is_json_dumps_text(monkeypatch, array, indent):
    monkeypatch.setattr(jsondoc, "STREAM_ABOVE", 0)  # stream even the smallest
    monkeypatch.setattr(jsondoc, "CHUNK", 2)  # and cross chunk boundaries
    result = _result(array, array)
    out = io.StringIO()
    jsondoc.write(out, result, {"traces": []}, indent=indent, head={"file": "f.expr"})
    expected = {"file": "f.expr", **jsondoc.document(result), "traces": []}
    assert out.getvalue() == json.dumps(expected, indent=indent, allow_nan=False)


def test_small_documents_do_not_stream():
    out = io.StringIO()
    result = _result(np.arange(3.0))
    jsondoc.write(out, result)
    assert out.getvalue() == json.dumps(jsondoc.document(result), indent=2, allow_nan=False)
    assert jsondoc.dumps(result) == out.getvalue()


def test_a_large_array_is_written_in_pieces_never_as_one_list(monkeypatch):
    writes = []

    class Recorder:
        def write(self, text):
            writes.append(text)

    array = np.arange(300_000, dtype=np.float32).reshape(3, 100_000)
    jsondoc.write(Recorder(), _result(array, with_grad=False))
    assert max(map(len, writes)) < 2_000_000  # a chunk of 65,536 numbers at most
    doc = json.loads("".join(writes))
    assert doc["tensors"][0]["data"][2][-1] == 299_999.0
