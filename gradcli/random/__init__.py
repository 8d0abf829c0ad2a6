"""PyTorch's CPU random numbers, value for value (SPEC §1.5).

gradcli draws from the generator PyTorch 2.13 uses on the CPU: MT19937 seeded as
`torch.manual_seed` seeds it, with PyTorch's transformation of the raw 32-bit words into
each distribution. numpy's MT19937 produces the words, vectorised; the transformations are
numpy code that follows PyTorch's C++ step for step. The global generator starts at seed 0
(or --seed); PyTorch seeds its own at random, so a program gives PyTorch's numbers after
`torch.manual_seed(0)`.

Modules:
    mt19937        the engine: aten/src/ATen/core/MT19937RNGEngine.h on numpy's MT19937
    generator      torch.Generator: aten/src/ATen/CPUGeneratorImpl.cpp (seed, state bytes,
                   the Box-Muller cache)
    distributions  the sampling kernels, on numpy arrays
    avx_mathfun    aten/src/ATen/native/cpu/avx_mathfun.h (float32 log, sincos), op for op
    fill32         the same float32 block kernel in few numpy passes: what the fill runs
    functions      the torch functions and Tensor methods
    init           torch.nn.init and Dropout's noise, for gradcli's torch.nn

Which PyTorch code path each function follows (aten/src/ATen/...):
    random() / random64()   CPUGeneratorImpl::random: one 32-bit word; random64: two words,
                            the first is the high half (make64BitsFrom32Bits)
    rand, rand_like, uniform_
                            native/cpu/DistributionTemplates.h uniform_kernel, serial:
                            core/TransformationHelper.h uniform_real: float32 takes one word,
                            (w & (2^24-1)) * 2^-24; float64 one random64, (w & (2^53-1)) * 2^-53;
                            then x * (to - from) + from in the tensor's type
    randn, randn_like, normal_, torch.normal
                            DistributionTemplates.h normal_kernel:
                            - float32, >= 16 elements, contiguous: normal_fill_AVX2 (the AVX512
                              build does not register normal_stub, so AVX2's kernel runs): all
                              uniforms first, then per block of 16: u1 = 1 - u[0:8],
                              u2 = u[8:16], r = sqrt(-2 log256_ps(u1)), theta = 2pi u2,
                              r cos to [0:8], r sin to [8:16], fmadd(std, mean); a ragged end
                              draws 16 fresh uniforms for the last 16 slots and redoes them
                            - float64, >= 16 elements, contiguous: normal_fill<double>, the same
                              with 53-bit uniforms and libm log/cos/sin (GCC fuses
                              r cos * std + mean into one multiply-add)
                            - fewer than 16 elements, or not contiguous: serial
                              core/DistributionsHelper.h normal_distribution<double>: u1, u2
                              53-bit, r = sqrt(-2 log1p(-u2)), theta = 2pi u1, returns r cos,
                              caches r sin in the generator for the next scalar draw (even in a
                              later call: randn(1) twice gives a Box-Muller pair); seeding or a
                              16+-element fill does not use it, manual_seed clears it
    randint, random_, randint_like
                            DistributionTemplates.h random_from_to_kernel: (w % range) + from,
                            w = random64() when range >= 2^32 for int64/float/double, else
                            random(); random_() without bounds: random_kernel (uniform_int)
    randperm                native/TensorFactories.cpp randperm_cpu (n < 2^32/20): Fisher-Yates,
                            swap r[i] with r[i + random() % (n - i)] for i < n - 1
    bernoulli_(p number), dropout's mask
                            native/cpu/DistributionKernels.cpp bernoulli_scalar_kernel: on a
                            CPU not made by Intel (this machine, AMD) the default kernel:
                            bernoulli_distribution<double>, u53 < p per element. (On Intel CPUs
                            PyTorch's MKL build uses MKL's own stream instead: not reproduced.)
    bernoulli(probs), bernoulli_(p tensor)
                            DistributionTemplates.h bernoulli_kernel(self, p_): per element,
                            a double p compares a 53-bit uniform, a float p a 24-bit one
    exponential_            exponential_distribution<double>: -1/lambda * log1p(-u53)
    multinomial             native/Distributions.cpp multinomial: without replacement or one
                            sample, q = empty_like(p).exponential_(1), then topk/argmax(p / q);
                            with replacement, native/cpu/MultinomialKernel.cpp: cumulative sum
                            in p's dtype, divided by the sum, last bucket 1, one 53-bit uniform
                            per sample, binary search for the first bucket >= u
    manual_seed, initial_seed, Generator, generator=
                            CPUGeneratorImpl::set_current_seed (clears the normal caches);
                            a new torch.Generator() has seed 67280421310721
    get_rng_state, set_rng_state, Generator.get_state/set_state
                            CPUGeneratorImpl::get_state: the 5056 bytes of
                            CPUGeneratorImplState (an int64 tensor here: no uint8 dtype)
    torch.random.fork_rng   saves the global generator's state, restores it on exit
    nn.init.*, Dropout      init.py: torch/nn/init.py's formulas over uniform_/normal_/bernoulli_
    in-place on a view      TensorIterator's order: memory order (dimensions by stride), so
                            x.t().uniform_() fills x's layout in draw order

Speed: numpy has no fused multiply-add, and normal_fill_16_AVX2 is about a hundred
element-wise passes in numpy where PyTorch makes one pass of AVX2 code. fill32 keeps them
few (the fused multiply-adds rounded in float64 by conversion or a magic constant, the log
tail doubled to drop a pass, the octant's signs from one shift); bench/RESULTS.md §6 has
the time of 10^7 float32 normals against PyTorch's. float64 normals call libm's log once
per pair through Python (numpy's SIMD log differs from libm's in about 1 value in 300).

Where PyTorch's float32 code uses vectorised transcendental functions, avx_mathfun
reproduces them including the multiply-adds GCC fuses, each rounded once (round to odd in
float64, then to float32), so values agree bit for bit; fill32 equals avx_mathfun on every
one of the 2^24 inputs of each half of a block (tests/test_random_fill.py).
"""
