"""The torch functions and Tensor methods that draw random numbers, on gradcli tensors.

Arguments, dtypes and errors as PyTorch 2.13 has them; the values come from
gradcli.random.distributions, which follows PyTorch's CPU kernels."""

from __future__ import annotations

import numpy as np

from gradcli.aten import ops as O
from gradcli.autodiff.tensor import Tensor
from gradcli.base import dtypes
from gradcli.base.errors import ProgramError, runtime_error, type_error
from gradcli.random import distributions as D
from gradcli.random.generator import STATE_BYTES, Generator, default_generator
from gradcli.torch import _common, creation, device_string, inplace, pointwise
from gradcli.torch.autograd.grad_mode import no_grad

_KERNEL_TYPE = {"int64": "Long", "int32": "Int", "bool": "Bool", "float32": "Float",
                "float64": "Double"}


def _not_implemented(kernel: str, dtype) -> ProgramError:
    return ProgramError("NotImplementedError",
                        f'"{kernel}" not implemented for \'{_KERNEL_TYPE[dtype.name]}\'')


def _generator_argument(generator, function: str) -> None:
    """A generator= that is not one, for the functions PyTorch's parser knows one signature
    of (the others list every overload: known_differences.txt)."""
    if generator is not None and not isinstance(generator, Generator):
        raise type_error(f"{function}(): argument 'generator' must be torch.Generator, not "
                         f"{_common.type_name(generator)}")
# Told of every draw while vmap runs a function in randomness="error" mode
# (gradcli/torch/func/transforms.py), which refuses it as PyTorch does; None by default.
DRAW_HOOK = None


def _generator(generator) -> Generator:
    if DRAW_HOOK is not None:
        DRAW_HOOK()
    if generator is None:
        return default_generator()
    if not isinstance(generator, Generator):
        raise type_error(f"generator must be a torch.Generator, not {_common.type_name(generator)}")
    return generator


def _floating(dtype, kernel: str):
    if not dtype.is_floating_point:
        raise _not_implemented(kernel, dtype)


# ----- the samples of each in-place sampler, as a flat array in the tensor's dtype ---------

def uniform_values(shape, dtype, low=0.0, high=1.0, generator=None) -> np.ndarray:
    """uniform_(low, high): the values PyTorch writes into a tensor of this shape."""
    _floating(dtype, "check_uniform_bounds")
    if low > high:
        raise runtime_error(
            f"uniform_ expects to return a [from, to) range, but found from={_num(low)} > "
            f"to={_num(high)}")
    return D.uniform(_generator(generator), _count(shape), dtype.numpy, low, high).reshape(shape)


def normal_values(shape, dtype, mean=0.0, std=1.0, generator=None, contiguous=True):
    """normal_(mean, std): the values PyTorch writes into a tensor of this shape."""
    _floating(dtype, "normal_kernel_cpu")
    if std < 0:
        raise runtime_error(f"normal expects std >= 0.0, but found std {_num(std)}")
    values = D.normal(_generator(generator), _count(shape), dtype.numpy, mean, std, contiguous)
    return values.reshape(shape)


def bernoulli_values(shape, dtype, p=0.5, generator=None) -> np.ndarray:
    """bernoulli_(p) with a number p: 1 with probability p, in the tensor's dtype."""
    if not 0 <= p <= 1:
        raise runtime_error(f"bernoulli_ expects p to be in [0, 1], but got p={_num(p)}")
    draws = D.bernoulli_scalar(_generator(generator), _count(shape), float(p))
    return draws.astype(dtype.numpy).reshape(shape)


def random_values(shape, dtype, low=None, high=None, generator=None) -> np.ndarray:
    """random_(), random_(to), random_(from, to)."""
    gen = _generator(generator)
    if low is None and high is None:
        return D.random_full(gen, _count(shape), dtype.numpy).reshape(shape)
    if high is None:
        low, high = 0, low
    if low >= high:
        raise runtime_error(
            f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    wide = dtype.name in ("int64", "float32", "float64")
    values = D.random_from_to(gen, _count(shape), int(low), int(high), wide)
    return values.astype(dtype.numpy).reshape(shape)


def _count(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _num(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


# ----- factories ---------------------------------------------------------------------------

def _new(values: np.ndarray, dtype, requires_grad) -> Tensor:
    # np.ascontiguousarray would make a 0-d draw (`randn(())`) 1-d
    return creation.new_leaf(np.asarray(values, dtype.numpy, order="C"), dtype, requires_grad)


def _factory_shape(size, name, dtype):
    shape = _common.size_args(size, name)
    creation._check_size(shape, dtype)
    return shape


def rand(*size_positional, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False, size=None):
    size = creation.size_keyword(size_positional, size, "rand")
    dtype = _common.as_dtype(dtype) or dtypes.DEFAULT_FLOAT
    shape = _factory_shape(size, "rand", dtype)
    return _new(uniform_values(shape, dtype, generator=generator), dtype, requires_grad)


def randn(*size_positional, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False, size=None):
    size = creation.size_keyword(size_positional, size, "randn")
    dtype = _common.as_dtype(dtype) or dtypes.DEFAULT_FLOAT
    shape = _factory_shape(size, "randn", dtype)
    return _new(normal_values(shape, dtype, generator=generator), dtype, requires_grad)


def randint(*args, low=None, high=None, size=None, generator=None, dtype=None, layout=None,
            device=None, requires_grad=False, pin_memory=False):
    """randint(high, size), randint(low, high, size), or the same by keyword."""
    args = list(args)
    if size is None and args and isinstance(args[-1], (tuple, list)):
        size = args.pop()
    if len(args) == 2:
        low, high = args
    elif len(args) == 1:
        if high is None:
            high = args[0]
        else:
            low = args[0]
    if high is None or size is None:
        raise type_error("randint() missing required arguments 'high' and 'size'")
    low = 0 if low is None else low
    dtype = _common.as_dtype(dtype) or dtypes.int64
    shape = _common.size_args((size,), "randint")
    creation._check_size(shape, dtype)
    values = random_values(shape, dtype, int(low), int(high), generator)
    return _new(values, dtype, requires_grad)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False):
    dtype = _common.as_dtype(dtype) or dtypes.int64
    n = int(n.array) if _common.is_tensor(n) else n
    if n < 0:
        raise runtime_error(f"Trying to create tensor with negative dimension {n}: [{n}]")
    creation._check_size((n,), dtype)
    return _new(D.randperm(_generator(generator), n), dtype, requires_grad)


def rand_like(input, *, generator=None, dtype=None, layout=None, device=None,
              requires_grad=False, memory_format=None):
    dtype = _common.as_dtype(dtype) or input.dtype
    creation._check_size(input.shape, dtype)
    return _new(uniform_values(input.shape, dtype, generator=generator), dtype, requires_grad)


def randn_like(input, *, generator=None, dtype=None, layout=None, device=None,
               requires_grad=False, memory_format=None):
    dtype = _common.as_dtype(dtype) or input.dtype
    creation._check_size(input.shape, dtype)
    return _new(normal_values(input.shape, dtype, generator=generator), dtype, requires_grad)


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, layout=None,
                 device=None, requires_grad=False, memory_format=None):
    if high is None:
        low, high = 0, low
    dtype = _common.as_dtype(dtype) or input.dtype
    creation._check_size(input.shape, dtype)
    values = random_values(input.shape, dtype, int(low), int(high), generator)
    return _new(values, dtype, requires_grad)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None,
           layout=None, device=None, requires_grad=False, pin_memory=False):
    """torch.normal: numbers and a size, or tensors: PyTorch draws N(0, std) (or N(0, 1)
    for a tensor std) into the broadcast shape, then scales by std and adds mean."""
    mean_is_tensor, std_is_tensor = _common.is_tensor(mean), _common.is_tensor(std)
    if not mean_is_tensor and not std_is_tensor:
        if size is None:
            raise type_error("normal() missing required argument 'size'")
        dtype = _common.as_dtype(dtype) or dtypes.DEFAULT_FLOAT
        shape = _factory_shape((size,), "normal", dtype)
        values = normal_values(shape, dtype, float(mean), float(std), generator)
        return _new(values, dtype, requires_grad)
    if not std_is_tensor and std < 0:
        raise runtime_error(f"normal expects std >= 0.0, but found std {_num(std)}")
    shapes = [t.shape for t in (mean, std) if _common.is_tensor(t)]
    shape = np.broadcast_shapes(*shapes)
    dtype = (mean if mean_is_tensor else std).dtype
    creation._check_size(shape, dtype)
    with_std = 1.0 if std_is_tensor else float(std)
    drawn = Tensor(normal_values(shape, dtype, 0.0, with_std, generator), dtype)
    with no_grad():
        if std_is_tensor:
            drawn = pointwise.mul(drawn, std)
        return pointwise.add(drawn, mean)


def bernoulli(input, p=None, *, generator=None, out=None):
    """bernoulli(probs): each element 1 with its own probability; bernoulli(input, p)."""
    creation._check_size(input.shape, input.dtype)
    if p is not None:
        return Tensor(bernoulli_values(input.shape, input.dtype, p, generator), input.dtype)
    _floating(input.dtype, "bernoulli_tensor_cpu_p_")
    probs = input.array
    if probs.size and not (np.all(probs >= 0) and np.all(probs <= 1)):
        raise runtime_error(
            "Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could this error "
            "message be improved?  If so, please report an enhancement request to PyTorch.)")
    draws = D.bernoulli_tensor(_generator(generator), probs)
    return Tensor(draws.astype(input.dtype.numpy).reshape(input.shape), input.dtype)


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    _generator_argument(generator, "multinomial")
    if input.ndim not in (1, 2):
        raise runtime_error("prob_dist must be 1 or 2 dim")
    _floating(input.dtype, "multinomial")
    categories = input.shape[-1]
    if num_samples <= 0:
        raise runtime_error("cannot sample n_sample <= 0 samples")
    if not replacement and num_samples > categories:
        raise runtime_error(
            "cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    probs = input.array.reshape(-1, categories)
    creation._check_size((probs.shape[0], num_samples), dtypes.int64)
    if not replacement or num_samples == 1:
        if not (np.all(np.isfinite(probs)) and np.all(probs >= 0)):
            raise runtime_error(
                "probability tensor contains either `inf`, `nan` or element < 0")
    elif not np.all(probs >= 0):
        raise runtime_error(
            "invalid multinomial distribution (encountering probability entry < 0)")
    if np.any(probs.sum(axis=-1) <= 0):
        raise runtime_error("invalid multinomial distribution (sum of probabilities <= 0)")
    samples = D.multinomial(_generator(generator), probs, num_samples, replacement)
    if input.ndim == 1:
        samples = samples.reshape(-1)
    return Tensor(samples, dtypes.int64)


# ----- Tensor methods that sample in place ------------------------------------------------

def _sampled(overload: str, name: str) -> O.Op:
    """An in-place sampler as an autograd op: it writes the drawn values (p) and passes
    no gradient back (PyTorch's formula is zeros)."""
    entry = O.Op(overload, lambda xs, values: values.astype(xs[0].dtype, copy=False),
                 None, False, name)
    entry.derivative(lambda ctx, grad, xp: (xp.zeros_like(grad),))
    return entry


_UNIFORM = _sampled("uniform_", "UniformBackward0")
_NORMAL = _sampled("normal_", "NormalBackward0")
_BERNOULLI_FLOAT = _sampled("bernoulli_.float", "BernoulliBackward2")
_BERNOULLI_TENSOR = _sampled("bernoulli_.Tensor", "BernoulliBackward1")
_RANDOM_FROM = _sampled("random_.from", "RandomBackward0")
_RANDOM_TO = _sampled("random_.to", "RandomBackward1")
_RANDOM = _sampled("random_", "RandomBackward2")
_EXPONENTIAL = _sampled("exponential_", "ExponentialBackward0")


def _fill(target: Tensor, entry: O.Op, draw) -> Tensor:
    """Check the target first (a refused write draws nothing), then draw and write.

    `draw(shape)` returns values in row-major draw order. PyTorch's TensorIterator walks a
    tensor in memory order (dimensions sorted by stride), so a transposed view gets its
    values in its base's layout order: the draw is made in that order and put back."""
    if not _common.is_tensor(target):  # nn.init.uniform_(3) calls 3.uniform_()
        from gradcli.base.errors import attribute_error

        method = entry.overload.split(".")[0]
        raise attribute_error(f"'{_common.type_name(target)}' object has no attribute '{method}'")
    inplace._check_inplace(target)
    array = target.array
    order = sorted(range(array.ndim), key=lambda d: -abs(array.strides[d]))
    values = draw(tuple(array.shape[d] for d in order))
    if order != sorted(order):
        in_layout = np.empty(array.shape, values.dtype)
        in_layout.transpose(order)[...] = values
        values = in_layout
    return inplace.inplace(target, lambda s: O.call(entry, (s,), values))


def _contiguous(t: Tensor) -> bool:
    return bool(t.array.flags.c_contiguous)


def uniform_(self, a=0.0, b=1.0, *, generator=None, **_from_to):
    _generator_argument(generator, "uniform_")
    low, high = float(_from_to.get("from", a)), float(_from_to.get("to", b))
    return _fill(self, _UNIFORM,
                 lambda shape: uniform_values(shape, self.dtype, low, high, generator))


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    _generator_argument(generator, "normal_")
    return _fill(self, _NORMAL, lambda shape: normal_values(
        shape, self.dtype, float(mean), float(std), generator, _contiguous(self)))


def bernoulli_(self, p=0.5, *, generator=None):
    if _common.is_tensor(p):
        def draw(shape):
            probs = np.broadcast_to(p.array, self.shape)
            draws = D.bernoulli_tensor(_generator(generator), probs).reshape(self.shape)
            return draws.astype(self.dtype.numpy)

        return _fill_logical(self, _BERNOULLI_TENSOR, draw)
    return _fill(self, _BERNOULLI_FLOAT,
                 lambda shape: bernoulli_values(shape, self.dtype, p, generator))


def _fill_logical(target: Tensor, entry: O.Op, draw) -> Tensor:
    """A fill in the target's logical order: bernoulli_ with a tensor p (for a
    non-contiguous target PyTorch's iterator order over both tensors is not reproduced)."""
    inplace._check_inplace(target)
    values = draw(target.shape)
    return inplace.inplace(target, lambda s: O.call(entry, (s,), values))


def random_(self, *args, generator=None, **bounds):
    low = bounds.get("from", args[0] if args else None)
    high = bounds.get("to", args[1] if len(args) > 1 else None)
    entry = _RANDOM if low is None and high is None else (_RANDOM_TO if high is None
                                                          else _RANDOM_FROM)
    return _fill(self, entry,
                 lambda shape: random_values(shape, self.dtype, low, high, generator))


def exponential_(self, lambd=1.0, *, generator=None):
    _generator_argument(generator, "exponential_")
    _floating(self.dtype, "exponential_cpu")

    def draw(shape):
        draws = D.exponential(_generator(generator), self.array.size, float(lambd))
        return draws.astype(self.dtype.numpy).reshape(shape)

    return _fill(self, _EXPONENTIAL, draw)


# ----- seeding and state -------------------------------------------------------------------

def manual_seed(seed):
    """torch.manual_seed: `int(seed)` first (a float or a numeric string is taken), then
    the generator's own check."""
    seed = int(seed.array) if _common.is_tensor(seed) else seed
    if isinstance(seed, (str, float)):
        try:
            seed = int(seed)
        except (ValueError, OverflowError) as exc:
            raise ProgramError(type(exc).__name__, str(exc)) from None
    elif not isinstance(seed, int):
        raise type_error("int() argument must be a string, a bytes-like object or a real "
                         f"number, not '{_common.type_name(seed)}'")
    return default_generator().manual_seed(seed)


def initial_seed():
    return default_generator().initial_seed()


def get_rng_state():
    """The generator's CPUGeneratorImplState, byte for byte as torch.get_rng_state()
    returns it; held in an int64 tensor (gradcli has no uint8 dtype)."""
    return state_tensor(default_generator())


def set_rng_state(new_state):
    load_state(default_generator(), new_state)


def state_tensor(generator: Generator) -> Tensor:
    raw = np.frombuffer(generator.get_state(), dtype=np.uint8).astype(np.int64)
    return Tensor(raw, dtypes.int64)


def load_state(generator: Generator, new_state) -> None:
    if not _common.is_tensor(new_state):
        raise type_error(f"expected a torch.ByteTensor, but got {_common.type_name(new_state)}")
    flat = new_state.array.reshape(-1)
    if flat.size != STATE_BYTES:
        raise runtime_error(
            f"Expected a CPUGeneratorImplState of size {STATE_BYTES} but found the input RNG "
            f"state size to be {flat.size}")
    generator.set_state(flat.astype(np.uint8).tobytes())


class ForkRng:
    """torch.random.fork_rng(): the global generator's state is put back on exit."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.saved: list = []

    def __enter__(self):
        if self.enabled:
            self.saved.append(default_generator().clone_state())
        return None

    def __exit__(self, *exc):
        if self.enabled:
            default_generator().restore(self.saved.pop())
        return False

    def __repr__(self) -> str:
        return f"<contextlib._GeneratorContextManager object at {id(self):#x}>"


def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices",
             device_type="cuda"):
    return ForkRng(bool(enabled))


# What torch.Generator(device=...) says on a CPU-only build for each other device type
_NO_GENERATOR = {
    "cuda": "Cannot get CUDA generator without ATen_cuda library. PyTorch splits its backend "
            "into two shared libraries: a CPU library and a CUDA library; this error has "
            "occurred because you are trying to use some CUDA functionality, but the CUDA "
            "library has not been loaded by the dynamic linker for some reason.  The CUDA "
            "library MUST be loaded, EVEN IF you don't directly use any symbols from the CUDA "
            "library! One common culprit is a lack of -Wl,--no-as-needed in your link "
            "arguments; many dynamic linkers will delete dynamic library dependencies if you "
            "don't depend on any of their symbols.  You can check if this has occurred by "
            "using ldd on your binary to see if there is a dependency on *_cuda.so library.",
    "xpu": "Cannot get XPU generator without ATen_xpu library.",
    "hip": "Backend doesn`t support getNewGenerator()",
    "hpu": "Backend doesn`t support getNewGenerator()",
    "xla": "Cannot get XLA generator without torch_xla library. This error has occurred "
           "because you are trying to use some XLA functionality, but the XLA library has not "
           "been loaded by the dynamic linker. You must load xla libraries by `import "
           "torch_xla`",
    "mps": "Cannot execute getNewGenerator() without MPS backend.",
    "mtia": "Cannot execute getNewGenerator() without MTIA backend.",
    "privateuseone": "Please register PrivateUse1HooksInterface by "
                     "`RegisterPrivateUse1HooksInterface` first.",
}


def new_generator(device="cpu"):
    """torch.Generator(device='cpu'): seeded with PyTorch's default_rng_seed_val."""
    kind, _ = device_string.parse(device if isinstance(device, str) else str(device))
    if kind != "cpu":
        raise runtime_error(
            _NO_GENERATOR.get(kind, f"{kind.upper()} device type not an accelerator."))
    return Generator()


# ----- attributes of a torch.Generator in a program ----------------------------------------

GENERATOR_ATTRIBUTES = {
    "manual_seed": lambda g: g.manual_seed,
    "initial_seed": lambda g: g.initial_seed,
    "get_state": lambda g: lambda: state_tensor(g),
    "set_state": lambda g: lambda new_state: (load_state(g, new_state), g)[1],
    "device": lambda g: "cpu",
}


def generator_attribute(generator: Generator, attr: str):
    getter = GENERATOR_ATTRIBUTES.get(attr)
    if getter is None:
        from gradcli.base.errors import attribute_error

        raise attribute_error(f"'torch._C.Generator' object has no attribute '{attr}'")
    return getter(generator)
