"""Which of several equal values PyTorch's CPU selection kernels pick: the order libstdc++'s
std::nth_element, std::sort and std::partial_sort leave equal elements in (topk, mode),
and PyTorch's own quick_select_template (kthvalue). These are not stable, so the index a
tie reports depends on the algorithm's steps: replayed here step for step, on a list of
(value, index) pairs and a strict "comes before" comparison.

Only rows with ties need this; a row of distinct values has one answer (the callers take
numpy's path for those).
"""

from __future__ import annotations

_THRESHOLD = 16  # libstdc++'s _S_threshold


def _lg(n: int) -> int:
    return n.bit_length() - 1


def _move_median_to_first(a, result, i, j, k, comp):
    if comp(a[i], a[j]):
        if comp(a[j], a[k]):
            a[result], a[j] = a[j], a[result]
        elif comp(a[i], a[k]):
            a[result], a[k] = a[k], a[result]
        else:
            a[result], a[i] = a[i], a[result]
    elif comp(a[i], a[k]):
        a[result], a[i] = a[i], a[result]
    elif comp(a[j], a[k]):
        a[result], a[k] = a[k], a[result]
    else:
        a[result], a[j] = a[j], a[result]


def _unguarded_partition(a, first, last, pivot, comp):
    while True:
        while comp(a[first], a[pivot]):
            first += 1
        last -= 1
        while comp(a[pivot], a[last]):
            last -= 1
        if not first < last:
            return first
        a[first], a[last] = a[last], a[first]
        first += 1


def _partition_pivot(a, first, last, comp):
    mid = first + (last - first) // 2
    _move_median_to_first(a, first, first + 1, mid, last - 1, comp)
    return _unguarded_partition(a, first + 1, last, first, comp)


def _unguarded_linear_insert(a, last, comp):
    value = a[last]
    nxt = last - 1
    while comp(value, a[nxt]):
        a[last] = a[nxt]
        last = nxt
        nxt -= 1
    a[last] = value


def _insertion_sort(a, first, last, comp):
    if first == last:
        return
    for i in range(first + 1, last):
        if comp(a[i], a[first]):
            value = a[i]
            a[first + 1:i + 1] = a[first:i]
            a[first] = value
        else:
            _unguarded_linear_insert(a, i, comp)


# ----- heaps (partial_sort, and the introsort/introselect fallbacks) --------------------


def _push_heap(a, first, hole, top, value, comp):
    parent = (hole - 1) // 2
    while hole > top and comp(a[first + parent], value):
        a[first + hole] = a[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    a[first + hole] = value


def _adjust_heap(a, first, hole, length, value, comp):
    top = hole
    second = hole
    while second < (length - 1) // 2:
        second = 2 * (second + 1)
        if comp(a[first + second], a[first + second - 1]):
            second -= 1
        a[first + hole] = a[first + second]
        hole = second
    if length % 2 == 0 and second == (length - 2) // 2:
        second = 2 * (second + 1)
        a[first + hole] = a[first + second - 1]
        hole = second - 1
    _push_heap(a, first, hole, top, value, comp)


def _make_heap(a, first, last, comp):
    length = last - first
    if length < 2:
        return
    parent = (length - 2) // 2
    while True:
        _adjust_heap(a, first, parent, length, a[first + parent], comp)
        if parent == 0:
            return
        parent -= 1


def _pop_heap(a, first, last, result, comp):
    value = a[result]
    a[result] = a[first]
    _adjust_heap(a, first, 0, last - first, value, comp)


def _heap_select(a, first, middle, last, comp):
    _make_heap(a, first, middle, comp)
    for i in range(middle, last):
        if comp(a[i], a[first]):
            _pop_heap(a, first, middle, i, comp)


def _sort_heap(a, first, last, comp):
    while last - first > 1:
        last -= 1
        _pop_heap(a, first, last, last, comp)


def partial_sort(a, first, middle, last, comp):
    _heap_select(a, first, middle, last, comp)
    _sort_heap(a, first, middle, comp)


# ----- std::sort, std::nth_element ----------------------------------------------------


def _introsort_loop(a, first, last, depth, comp):
    while last - first > _THRESHOLD:
        if depth == 0:
            partial_sort(a, first, last, last, comp)
            return
        depth -= 1
        cut = _partition_pivot(a, first, last, comp)
        _introsort_loop(a, cut, last, depth, comp)
        last = cut


def std_sort(a, first, last, comp):
    if first == last:
        return
    _introsort_loop(a, first, last, _lg(last - first) * 2, comp)
    if last - first > _THRESHOLD:
        _insertion_sort(a, first, first + _THRESHOLD, comp)
        for i in range(first + _THRESHOLD, last):
            _unguarded_linear_insert(a, i, comp)
    else:
        _insertion_sort(a, first, last, comp)


def nth_element(a, first, nth, last, comp):
    if first == last or nth == last:
        return
    depth = _lg(last - first) * 2
    while last - first > 3:
        if depth == 0:
            _heap_select(a, first, nth + 1, last, comp)
            a[first], a[nth] = a[nth], a[first]
            return
        depth -= 1
        cut = _partition_pivot(a, first, last, comp)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(a, first, last, comp)


# ----- PyTorch's quick_select_template (kthvalue) -------------------------------------


def quick_select(a, k, gt_or_nan):
    """aten/src/ATen/native/SortingUtils.h: median-of-three quickselect on a list."""
    left, right = 0, len(a) - 1
    while True:
        if right <= left:
            return
        if right == left + 1:
            if gt_or_nan(a[left], a[right]):
                a[left], a[right] = a[right], a[left]
            return
        p = left + (right - left) // 2
        a[p], a[left + 1] = a[left + 1], a[p]
        if gt_or_nan(a[left + 1], a[right]):
            a[left + 1], a[right] = a[right], a[left + 1]
        if gt_or_nan(a[left], a[right]):
            a[left], a[right] = a[right], a[left]
        if gt_or_nan(a[left + 1], a[left]):
            a[left + 1], a[left] = a[left], a[left + 1]
        i, j = left + 1, right
        pivot = a[left]
        while True:
            i += 1
            while gt_or_nan(pivot, a[i]):
                i += 1
            j -= 1
            while gt_or_nan(a[j], pivot):
                j -= 1
            if j < i:
                break
            a[i], a[j] = a[j], a[i]
        a[left], a[j] = a[j], a[left]
        if j <= k:
            left = i
        if j >= k:
            right = j - 1


# ----- comparisons on (value, index) pairs, NaN as PyTorch's kernels rank it -----------


def _isnan(v) -> bool:
    return v != v


def larger_first(x, y) -> bool:
    """topk(largest=True): NaN is the largest."""
    return (_isnan(x[0]) and not _isnan(y[0])) or x[0] > y[0]


def smaller_first(x, y) -> bool:
    return (not _isnan(x[0]) and _isnan(y[0])) or x[0] < y[0]


def value_less(x, y) -> bool:
    """mode's comparison: values only."""
    return x[0] < y[0]


def greater_or_nan(x, y) -> bool:
    """kthvalue's gt_or_nan."""
    return (_isnan(x[0]) and not _isnan(y[0])) or x[0] > y[0]


# ----- std::make_heap / pop_heap / push_heap / sort_heap on a whole list ----------------


def make_heap(a, comp):
    _make_heap(a, 0, len(a), comp)


def pop_heap(a, comp):
    if len(a) > 1:
        _pop_heap(a, 0, len(a) - 1, len(a) - 1, comp)


def push_heap(a, comp):
    _push_heap(a, 0, len(a) - 1, 0, a[-1], comp)


def sort_heap(a, comp):
    _sort_heap(a, 0, len(a), comp)
