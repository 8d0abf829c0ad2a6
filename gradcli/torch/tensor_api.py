"""torch functions and Tensor methods beyond the core set, from their family modules, in
two tables the sandbox's name tables take in whole (gradcli.sandbox.scope, attributes):
pointwise functions (pointwise_extra), scans (scans), sorting and selection (sorting),
reductions (reductions_extra)."""

from __future__ import annotations

from gradcli.torch import pointwise_extra, reductions_extra, scans, sorting

FUNCTIONS = {**pointwise_extra.FUNCTIONS, **scans.FUNCTIONS, **sorting.FUNCTIONS,
             **reductions_extra.FUNCTIONS}
TENSOR_METHODS = {**pointwise_extra.TENSOR_METHODS, **scans.TENSOR_METHODS,
                  **sorting.TENSOR_METHODS, **reductions_extra.TENSOR_METHODS}
