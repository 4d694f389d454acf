// CUDA version of gather_visible.h: one block per output row, threads along C, so each row of x,
// pos and out is read/written coalesced (a row is 0.75-3 KB at C = 384-768). Bandwidth: per
// visible token C*(2 or 4) bytes of x + 4C of pos in, C*(2 or 4) out; the backward moves
// C*(2 or 4) each way.
#include <cuda_runtime.h>

#include "kernels/cuda_util.cuh"
#include "kernels/gather_visible.h"

namespace tats::kernels {

namespace {

using cuda::from_f32;
using cuda::to_f32;

constexpr int kThreads = 256;

// One block per output row (b, j): no per-element index arithmetic beyond the channel loop.
template <typename T>
__global__ void gather_visible_kernel(const T* __restrict__ x, const float* __restrict__ pos,
                                      const int64_t* __restrict__ idx, T* __restrict__ out, int n_tokens,
                                      int n_visible, int C) {
  const int64_t row = blockIdx.x;  // b * Nv + j
  const int64_t b = row / n_visible;
  const int64_t n = idx[row];
  const T* src = x + (b * n_tokens + n) * C;
  const float* p = pos + n * C;
  T* dst = out + row * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) dst[c] = from_f32<T>(to_f32(src[c]) + p[c]);
}

template <typename T>
__global__ void scatter_rows_kernel(const T* __restrict__ dout, const int64_t* __restrict__ idx, T* __restrict__ dx,
                                    int n_tokens, int n_visible, int C) {
  const int64_t row = blockIdx.x;
  const int64_t b = row / n_visible;
  const T* src = dout + row * C;
  T* dst = dx + (b * n_tokens + idx[row]) * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) dst[c] = src[c];
}

// Threads per row block: C rounded up to a warp, at most kThreads.
int threads_for(int64_t C) { return (int)(C >= kThreads ? kThreads : ((C + 31) / 32) * 32); }

}  // namespace

void gather_visible_cuda(const void* x, bool bf16, const float* pos, const int64_t* idx, void* out,
                         const GatherVisibleShape& s, void* stream) {
  const int64_t rows = s.batch * s.visible;
  if (rows == 0 || s.channels == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  const int threads = threads_for(s.channels);
  if (bf16)
    gather_visible_kernel<<<(unsigned)rows, threads, 0, st>>>(static_cast<const __nv_bfloat16*>(x), pos, idx,
                                                              static_cast<__nv_bfloat16*>(out), (int)s.tokens,
                                                              (int)s.visible, (int)s.channels);
  else
    gather_visible_kernel<<<(unsigned)rows, threads, 0, st>>>(static_cast<const float*>(x), pos, idx,
                                                              static_cast<float*>(out), (int)s.tokens, (int)s.visible,
                                                              (int)s.channels);
  cuda::check_launch("gather_visible_cuda");
}

void gather_visible_backward_cuda(const void* dout, bool bf16, const int64_t* idx, void* dx,
                                  const GatherVisibleShape& s, void* stream) {
  const int64_t rows = s.batch * s.visible;
  if (rows == 0 || s.channels == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  const int threads = threads_for(s.channels);
  if (bf16)
    scatter_rows_kernel<<<(unsigned)rows, threads, 0, st>>>(static_cast<const __nv_bfloat16*>(dout), idx,
                                                            static_cast<__nv_bfloat16*>(dx), (int)s.tokens,
                                                            (int)s.visible, (int)s.channels);
  else
    scatter_rows_kernel<<<(unsigned)rows, threads, 0, st>>>(static_cast<const float*>(dout), idx,
                                                            static_cast<float*>(dx), (int)s.tokens, (int)s.visible,
                                                            (int)s.channels);
  cuda::check_launch("gather_visible_backward_cuda");
}

}  // namespace tats::kernels
