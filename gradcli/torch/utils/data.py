"""torch.utils.data of PyTorch 2.13 for gradcli programs: map-style datasets, samplers,
the single-process DataLoader and its default collate (torch/utils/data/).

Nothing here reads a file: a dataset is tensors (TensorDataset), a program's own
subclass of Dataset (its `__getitem__`/`__len__`) or of IterableDataset (its `__iter__`),
or a program's list.

Random order is PyTorch's, draw for draw from the same generator:
- each `iter(loader)` first draws the iterator's `_base_seed` (`torch.empty((),
  dtype=torch.int64).random_(generator=loader.generator)`), whether or not it shuffles;
- RandomSampler, on its first `next`, draws its own seed the same way (from the global
  generator when it has none), seeds a fresh torch.Generator with it and yields
  `torch.randperm(n, generator=g)`;
- random_split is one `randperm(sum(lengths), generator=generator)` cut into pieces.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from gradcli.autodiff.tensor import Tensor
from gradcli.base import dtypes
from gradcli.base.diagnostics import warn
from gradcli.base.errors import ProgramError, runtime_error, type_error, value_error
from gradcli.random import distributions as D
from gradcli.random.generator import Generator
from gradcli.torch import functions as api
from gradcli.torch import random as R

COLLATE_ERROR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts "
                 "or lists; found {}")


def _class_text(cls) -> str:
    """str(type(x)) as Python prints it: `<class 'float'>`, `<class '__main__.Point'>`."""
    if cls is Tensor:
        return "<class 'torch.Tensor'>"
    module = getattr(cls, "__module__", "builtins")
    if module == "builtins":
        return f"<class '{cls.__qualname__}'>"
    return f"<class '{module}.{cls.__qualname__}'>"


def _seed_draw(generator) -> int:
    """`int(torch.empty((), dtype=torch.int64).random_(generator=generator).item())`."""
    return int(R.random_values((), dtypes.int64, generator=generator))


# ----- datasets ----------------------------------------------------------------------------

class Dataset:
    """A map-style dataset: a program subclasses it with `__getitem__` and `__len__`."""

    _program_attributes_ = frozenset()

    def __getitem__(self, index):
        raise ProgramError("NotImplementedError",
                           "Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: a program subclasses it with `__iter__` (and maybe `__len__`)."""

    _program_attributes_ = frozenset()

    def __add__(self, other):
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Iterable datasets one after the other (`it1 + it2`)."""

    _program_attributes_ = frozenset({"datasets"})

    def __init__(self, datasets) -> None:
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise ProgramError("AssertionError", "ChainDataset only supports "
                                   "IterableDataset")
            yield from d

    def __len__(self) -> int:
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise ProgramError("AssertionError", "ChainDataset only supports "
                                   "IterableDataset")
            total += len(d)
        return total


class TensorDataset(Dataset):
    """Sample i is `tuple(t[i] for t in tensors)`."""

    _program_attributes_ = frozenset({"tensors"})

    def __init__(self, *tensors) -> None:
        for tensor in tensors:
            if not isinstance(tensor, Tensor):
                raise ProgramError("AttributeError",
                                   f"'{api.type_name(tensor)}' object has no attribute 'size'")
        if any(_first_size(tensors[0]) != _first_size(t) for t in tensors):
            raise ProgramError("AssertionError", "Size mismatch between tensors")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(tensor[index] for tensor in self.tensors)

    def __len__(self) -> int:
        return _first_size(self.tensors[0])


def _first_size(tensor: Tensor) -> int:
    if tensor.ndim == 0:
        raise index_error_0d()
    return tensor.shape[0]


def index_error_0d() -> ProgramError:
    return ProgramError("IndexError",
                        "Dimension specified as 0 but tensor has no dimensions")


class ConcatDataset(Dataset):
    """Datasets one after the other (`ds1 + ds2`)."""

    _program_attributes_ = frozenset({"datasets", "cumulative_sizes"})

    def __init__(self, datasets) -> None:
        self.datasets = list(datasets)
        if len(self.datasets) == 0:
            raise ProgramError("AssertionError", "datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise ProgramError("AssertionError",
                                   "ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise value_error("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        dataset_idx = 0
        while dataset_idx < len(self.cumulative_sizes) and \
                self.cumulative_sizes[dataset_idx] <= idx:
            dataset_idx += 1
        sample_idx = idx if dataset_idx == 0 else idx - self.cumulative_sizes[dataset_idx - 1]
        return self.datasets[dataset_idx][sample_idx]


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    _program_attributes_ = frozenset({"dataset", "indices"})

    def __init__(self, dataset, indices) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __len__(self) -> int:
        return len(self.indices)


def random_split(dataset, lengths, generator=None):
    """Split by one randperm; fractions summing to 1 become floor(n * f) plus a round-robin
    share of the remainder."""
    lengths = list(lengths)
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:
        subset_lengths = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise value_error(f"Fraction at index {i} is not between 0 and 1")
            subset_lengths.append(math.floor(len(dataset) * frac))
        remainder = len(dataset) - sum(subset_lengths)
        for i in range(remainder):
            subset_lengths[i % len(subset_lengths)] += 1
        lengths = subset_lengths
        for i, length in enumerate(lengths):
            if length == 0:
                warn(f"Length of split at index {i} is 0. This might result in an empty "
                     "dataset.")
    if sum(lengths) != len(dataset):
        raise value_error("Sum of input lengths does not equal the length of the input "
                          "dataset!")
    indices = R.randperm(sum(lengths), generator=generator).array.tolist()
    return [Subset(dataset, indices[offset - length:offset])
            for offset, length in zip(itertools.accumulate(lengths), lengths, strict=True)]


# ----- samplers -----------------------------------------------------------------------------

class Sampler:
    _program_attributes_ = frozenset()

    def __init__(self, data_source=None) -> None:
        pass


class _InfiniteConstantSampler(Sampler):
    """The index sampler of an iterable dataset: None, forever (the dataset decides)."""

    def __iter__(self):
        while True:
            yield None


class SequentialSampler(Sampler):
    _program_attributes_ = frozenset({"data_source"})

    def __init__(self, data_source) -> None:
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    _program_attributes_ = frozenset({"data_source", "replacement", "num_samples",
                                      "generator"})

    def __init__(self, data_source, replacement=False, num_samples=None,
                 generator=None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(replacement, bool):
            raise type_error("replacement should be a boolean value, but got "
                             f"replacement={replacement}")
        if (not isinstance(self.num_samples, int) or isinstance(self.num_samples, bool)
                or self.num_samples <= 0):
            raise value_error("num_samples should be a positive integer value, but got "
                              f"num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        if self.generator is None:
            generator = Generator(_seed_draw(None))
        else:
            generator = R._generator(self.generator)
        if self.replacement:
            for _ in range(self.num_samples // 32):
                yield from _randint(n, 32, generator)
            yield from _randint(n, self.num_samples % 32, generator)
        else:
            for _ in range(self.num_samples // n):
                yield from D.randperm(generator, n).tolist()
            yield from D.randperm(generator, n).tolist()[:self.num_samples % n]

    def __len__(self) -> int:
        return self.num_samples


def _randint(high: int, count: int, generator: Generator) -> list:
    """`torch.randint(high=high, size=(count,), dtype=torch.int64, generator=g).tolist()`."""
    return R.random_values((count,), dtypes.int64, 0, high, generator).tolist()


class SubsetRandomSampler(Sampler):
    _program_attributes_ = frozenset({"indices", "generator"})

    def __init__(self, indices, generator=None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        for i in R.randperm(len(self.indices), generator=self.generator).array.tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """`num_samples` indices drawn by torch.multinomial(weights as float64, ...)."""

    _program_attributes_ = frozenset({"weights", "num_samples", "replacement", "generator"})

    def __init__(self, weights, num_samples, replacement=True, generator=None) -> None:
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise value_error("num_samples should be a positive integer value, but got "
                              f"num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise value_error("replacement should be a boolean value, but got "
                              f"replacement={replacement}")
        if isinstance(weights, Tensor):
            weights = Tensor(np.asarray(weights.array, np.float64), dtypes.float64)
        else:
            weights = api.tensor(weights, dtype=dtypes.float64)
        if weights.ndim != 1:
            raise value_error("weights should be a 1d sequence but given weights have shape "
                              f"{tuple(weights.shape)}")
        self.weights = weights
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        drawn = R.multinomial(self.weights, self.num_samples, self.replacement,
                              generator=self.generator)
        yield from drawn.array.tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of `batch_size` indices from `sampler`; the last one shorter unless dropped."""

    _program_attributes_ = frozenset({"sampler", "batch_size", "drop_last"})

    def __init__(self, sampler, batch_size, drop_last) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise value_error("batch_size should be a positive integer value, but got "
                              f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise value_error(f"drop_last should be a boolean value, but got "
                              f"drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        sampler_iter = iter(self.sampler)
        if self.drop_last:
            # one iterator zipped with itself: full batches only, the rest dropped
            chunks = zip(*[sampler_iter] * self.batch_size, strict=False)
            yield from ([*batch] for batch in chunks)
        else:
            batch = [*itertools.islice(sampler_iter, self.batch_size)]
            while batch:
                yield batch
                batch = [*itertools.islice(sampler_iter, self.batch_size)]

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size


# ----- collate ------------------------------------------------------------------------------

def default_collate(batch):
    """torch.utils.data.default_collate: tensors stacked on a new dim 0, floats to a float64
    tensor, ints (and bools) to a tensor, strings kept, dicts by key, and a batch of tuples
    transposed into a list (PyTorch keeps the list for backwards compatibility)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return api.stack(list(batch), 0)
    if isinstance(elem, float):
        return api.tensor(list(batch), dtype=dtypes.float64)
    if isinstance(elem, int):
        return api.tensor(list(batch))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, dict):
        return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, (tuple, list)):
        size = len(elem)
        if not all(len(item) == size for item in batch):
            raise runtime_error("each element in list of batch should be of equal size")
        return [default_collate(list(samples)) for samples in zip(*batch, strict=True)]
    raise type_error(COLLATE_ERROR.format(_class_text(type(elem))))


def default_convert(data):
    """What a loader without batching (batch_size=None) does to each sample: nothing to
    tensors, numbers and strings; dicts and lists are rebuilt with their items converted,
    and a tuple becomes a list."""
    if isinstance(data, dict):
        return {key: default_convert(value) for key, value in data.items()}
    if isinstance(data, (tuple, list)):
        return [default_convert(d) for d in data]  # a tuple too: PyTorch's compatibility
    return data


# ----- DataLoader ---------------------------------------------------------------------------

class DataLoader:
    """Batches of a map-style dataset in the main process (num_workers=0)."""

    _program_attributes_ = frozenset({"dataset", "batch_size", "drop_last", "sampler",
                                      "batch_sampler", "generator", "num_workers",
                                      "collate_fn", "pin_memory", "timeout"})

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False,
                 timeout=0, worker_init_fn=None, multiprocessing_context=None,
                 generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True) -> None:
        if num_workers < 0:
            raise value_error("num_workers option should be non-negative; use num_workers=0 "
                              "to disable multiprocessing.")
        if timeout < 0:
            raise value_error("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise value_error(
                "prefetch_factor option could only be specified in multiprocessing.let "
                "num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to "
                "None.")
        if persistent_workers and num_workers == 0:
            raise value_error("persistent_workers option needs num_workers > 0")
        if num_workers > 0:
            raise ProgramError(
                "NotImplementedError",
                f"gradcli loads data in the main process only: num_workers={num_workers} "
                "starts worker processes; use num_workers=0")
        self.dataset = dataset
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.timeout = timeout
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in {False, None}:
                raise value_error("DataLoader with IterableDataset: expected unspecified "
                                  f"shuffle option, but got shuffle={shuffle}")
            if sampler is not None:
                raise value_error("DataLoader with IterableDataset: expected unspecified "
                                  f"sampler option, but got sampler={sampler!r}")
            if batch_sampler is not None:
                raise value_error("DataLoader with IterableDataset: expected unspecified "
                                  f"batch_sampler option, but got batch_sampler="
                                  f"{batch_sampler!r}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise value_error("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise value_error("batch_sampler option is mutually exclusive with "
                                  "batch_size, shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise value_error("batch_size=None option disables auto-batching and is "
                              "mutually exclusive with drop_last")
        if sampler is None:
            if self._iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.collate_fn = collate_fn

    def _index_sampler(self):
        return self.batch_sampler if self.batch_sampler is not None else self.sampler

    def __iter__(self):
        return _LoaderIterator(self)

    def __len__(self) -> int:
        if self._iterable:
            length = len(self.dataset)
            if self.batch_size is not None:
                length = (length // self.batch_size if self.drop_last
                          else math.ceil(length / self.batch_size))
            return length
        return len(self._index_sampler())


class _LoaderIterator:
    """_SingleProcessDataLoaderIter: the base seed is drawn when the iterator is made."""

    _program_attributes_ = frozenset()

    def __init__(self, loader: DataLoader) -> None:
        self._loader = loader
        if loader.pin_memory:
            # warned from inside torch's dataloader.py: once per process
            warn("'pin_memory' argument is set as true but no accelerator is found, then "
                 "device pinned memory won't be used.", once_per_process=True)
        self._sampler_iter = iter(loader._index_sampler())
        self._base_seed = _seed_draw(loader.generator)
        # an iterable dataset's iterator is made after the seed is drawn (the fetcher's)
        self._dataset_iter = iter(loader.dataset) if loader._iterable else None
        self._ended = False

    def __iter__(self):
        return self

    def __next__(self):
        loader = self._loader
        index = next(self._sampler_iter)
        if self._dataset_iter is not None:
            return loader.collate_fn(self._fetch_stream(index))
        if loader.batch_sampler is not None:
            data = [loader.dataset[i] for i in index]
        else:
            data = loader.dataset[index]
        return loader.collate_fn(data)

    def _fetch_stream(self, batch):
        """_IterableDatasetFetcher.fetch: up to a batch of samples; a short last batch
        unless drop_last; StopIteration once the stream has ended."""
        if self._ended:
            raise StopIteration
        if self._loader.batch_sampler is None:
            return next(self._dataset_iter)
        data = []
        for _ in batch:
            try:
                data.append(next(self._dataset_iter))
            except StopIteration:
                self._ended = True
                break
        if len(data) == 0 or (self._loader.drop_last and len(data) < len(batch)):
            raise StopIteration
        return data

    def __len__(self) -> int:
        return len(self._loader)


for _cls in (Dataset, IterableDataset, ChainDataset, TensorDataset, ConcatDataset, Subset):
    _cls.__module__ = "torch.utils.data.dataset"
for _cls in (Sampler, SequentialSampler, RandomSampler, SubsetRandomSampler,
             WeightedRandomSampler, BatchSampler):
    _cls.__module__ = "torch.utils.data.sampler"
DataLoader.__module__ = "torch.utils.data.dataloader"
_LoaderIterator.__module__ = "torch.utils.data.dataloader"
_LoaderIterator.__name__ = _LoaderIterator.__qualname__ = "_SingleProcessDataLoaderIter"

DATA_MEMBERS = {
    "BatchSampler": BatchSampler,
    "ChainDataset": ChainDataset,
    "ConcatDataset": ConcatDataset,
    "DataLoader": DataLoader,
    "Dataset": Dataset,
    "IterableDataset": IterableDataset,
    "RandomSampler": RandomSampler,
    "Sampler": Sampler,
    "SequentialSampler": SequentialSampler,
    "Subset": Subset,
    "SubsetRandomSampler": SubsetRandomSampler,
    "TensorDataset": TensorDataset,
    "WeightedRandomSampler": WeightedRandomSampler,
    "default_collate": default_collate,
    "default_convert": default_convert,
    "random_split": random_split,
}
