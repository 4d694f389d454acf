// CUDA version of counter_uniform.h: one thread per element, the same hash as the reference.
#include <cuda_runtime.h>

#include "kernels/counter_rng.h"
#include "kernels/counter_uniform.h"
#include "kernels/cuda_util.cuh"

namespace tats::kernels {

namespace {

constexpr int kThreads = 256;

__global__ void counter_uniform_kernel(double* __restrict__ out, int64_t rows, int64_t cols, unsigned long long seed,
                                       unsigned long long offset, unsigned long long row_base) {
  const int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (e >= rows * cols) return;
  const int64_t b = e / cols, i = e % cols;
  out[e] = counter_uniform(counter_bits(seed, offset, row_base + (uint64_t)b, (uint64_t)i));
}

}  // namespace

void counter_uniform_cuda(double* out, const CounterUniformShape& s, void* stream) {
  const int64_t n = s.rows * s.cols;
  if (n < 1) return;
  const unsigned blocks = (unsigned)((n + kThreads - 1) / kThreads);
  counter_uniform_kernel<<<blocks, kThreads, 0, static_cast<cudaStream_t>(stream)>>>(out, s.rows, s.cols, s.seed,
                                                                                     s.offset, s.row_base);
  cuda::check_launch("counter_uniform_cuda");
}

}  // namespace tats::kernels
