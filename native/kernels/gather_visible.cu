// CUDA version of gather_visible.h: one thread per output element, consecutive threads along C, so
// each row of x, pos and out is read/written coalesced. Bandwidth: per visible token C*(2 or 4)
// bytes of x + 4C of pos in, C*(2 or 4) out; the backward moves C*(2 or 4) each way.
#include <cuda_runtime.h>

#include "kernels/cuda_util.cuh"
#include "kernels/gather_visible.h"

namespace tats::kernels {

namespace {

using cuda::from_f32;
using cuda::to_f32;

constexpr int kThreads = 256;

template <typename T>
__global__ void gather_visible_kernel(const T* __restrict__ x, const float* __restrict__ pos,
                                      const int64_t* __restrict__ idx, T* __restrict__ out, int64_t total,
                                      int n_tokens, int n_visible, int C) {
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t row = e / C;  // b * Nv + j
    const int c = (int)(e % C);
    const int64_t b = row / n_visible;
    const int64_t n = idx[row];
    out[e] = from_f32<T>(to_f32(x[(b * n_tokens + n) * C + c]) + pos[n * C + c]);
  }
}

template <typename T>
__global__ void scatter_rows_kernel(const T* __restrict__ dout, const int64_t* __restrict__ idx, T* __restrict__ dx,
                                    int64_t total, int n_tokens, int n_visible, int C) {
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t row = e / C;
    const int c = (int)(e % C);
    const int64_t b = row / n_visible;
    dx[(b * n_tokens + idx[row]) * C + c] = dout[e];
  }
}

unsigned blocks_for(int64_t total) {
  const int64_t want = (total + kThreads - 1) / kThreads;
  return (unsigned)(want < 65535 * 8 ? want : 65535 * 8);  // grid-stride beyond that
}

}  // namespace

void gather_visible_cuda(const void* x, bool bf16, const float* pos, const int64_t* idx, void* out,
                         const GatherVisibleShape& s, void* stream) {
  const int64_t total = s.batch * s.visible * s.channels;
  if (total == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  if (bf16)
    gather_visible_kernel<<<blocks_for(total), kThreads, 0, st>>>(
        static_cast<const __nv_bfloat16*>(x), pos, idx, static_cast<__nv_bfloat16*>(out), total, (int)s.tokens,
        (int)s.visible, (int)s.channels);
  else
    gather_visible_kernel<<<blocks_for(total), kThreads, 0, st>>>(static_cast<const float*>(x), pos, idx,
                                                                  static_cast<float*>(out), total, (int)s.tokens,
                                                                  (int)s.visible, (int)s.channels);
  cuda::check_launch("gather_visible_cuda");
}

void gather_visible_backward_cuda(const void* dout, bool bf16, const int64_t* idx, void* dx,
                                  const GatherVisibleShape& s, void* stream) {
  const int64_t total = s.batch * s.visible * s.channels;
  if (total == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  if (bf16)
    scatter_rows_kernel<<<blocks_for(total), kThreads, 0, st>>>(static_cast<const __nv_bfloat16*>(dout), idx,
                                                                static_cast<__nv_bfloat16*>(dx), total, (int)s.tokens,
                                                                (int)s.visible, (int)s.channels);
  else
    scatter_rows_kernel<<<blocks_for(total), kThreads, 0, st>>>(static_cast<const float*>(dout), idx,
                                                                static_cast<float*>(dx), total, (int)s.tokens,
                                                                (int)s.visible, (int)s.channels);
  cuda::check_launch("gather_visible_backward_cuda");
}

}  // namespace tats::kernels
