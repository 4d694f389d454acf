// CUDA version of decoder_assemble.h. Forward: one block per output row, threads along C
// (coalesced); a row is either a visible row (vis + pos) or a mask row (mask_token + pos).
// Backward: the mask-token gradient is a column sum over B*Nm rows of dout. Pass 1: a 2-D grid
// (C/32 column tiles x kAssembleChunks row blocks) of 32x8 threads, each block summing its rows in
// fixed order into partial[chunk, c]; pass 2: one thread per column sums the chunk partials.
// No atomics, so the result is the same on every run.
#include <cuda_runtime.h>

#include "kernels/cuda_util.cuh"
#include "kernels/decoder_assemble.h"

namespace tats::kernels {

namespace {

using cuda::from_f32;
using cuda::to_f32;

constexpr int kThreads = 256;

// One block per output row (b, l): a visible row (vis + pos) or a mask row (mask_token + pos).
template <typename T>
__global__ void assemble_kernel(const T* __restrict__ vis, const float* __restrict__ mask_token,
                                const float* __restrict__ pos, const int64_t* __restrict__ vis_idx,
                                const int64_t* __restrict__ mask_idx, T* __restrict__ out, int n_vis, int n_mask,
                                int C) {
  const int L = n_vis + n_mask;
  const int64_t row = blockIdx.x;  // b * L + l
  const int64_t b = row / L;
  const int l = (int)(row - b * L);
  T* dst = out + row * C;
  if (l < n_vis) {
    const T* src = vis + (b * n_vis + l) * C;
    const float* p = pos + vis_idx[b * n_vis + l] * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) dst[c] = from_f32<T>(to_f32(src[c]) + p[c]);
  } else {
    const float* p = pos + mask_idx[b * n_mask + (l - n_vis)] * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) dst[c] = from_f32<T>(mask_token[c] + p[c]);
  }
}

// blockDim (32, 8); grid (ceil(C/32), kAssembleChunks).
template <typename T>
__global__ void mask_grad_partial_kernel(const T* __restrict__ dout, float* __restrict__ partial, int rows,
                                         int n_vis, int n_mask, int C) {
  __shared__ float tile[8][33];
  const int c = blockIdx.x * 32 + threadIdx.x;
  const int per_chunk = (rows + gridDim.y - 1) / gridDim.y;
  const int r0 = blockIdx.y * per_chunk, r1 = min(rows, r0 + per_chunk);
  const int L = n_vis + n_mask;
  float s = 0.f;
  if (c < C) {
    for (int r = r0 + threadIdx.y; r < r1; r += blockDim.y) {
      const int b = r / n_mask, m = r % n_mask;
      s += to_f32(dout[((size_t)b * L + n_vis + m) * C + c]);
    }
  }
  tile[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    float t = 0.f;
    for (int y = 0; y < (int)blockDim.y; ++y) t += tile[y][threadIdx.x];
    partial[(size_t)blockIdx.y * C + c] = t;
  }
}

__global__ void mask_grad_final_kernel(const float* __restrict__ partial, float* __restrict__ d_mask_token, int chunks,
                                       int C) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  float s = 0.f;
  for (int k = 0; k < chunks; ++k) s += partial[(size_t)k * C + c];
  d_mask_token[c] = s;
}

int threads_for(int64_t C) { return (int)(C >= kThreads ? kThreads : ((C + 31) / 32) * 32); }

}  // namespace

void decoder_assemble_cuda(const void* vis, bool bf16, const float* mask_token, const float* pos,
                           const int64_t* vis_idx, const int64_t* mask_idx, void* out, const DecoderAssembleShape& s,
                           void* stream) {
  const int64_t rows = s.batch * (s.visible + s.masked);
  if (rows == 0 || s.channels == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  const int threads = threads_for(s.channels);
  if (bf16)
    assemble_kernel<<<(unsigned)rows, threads, 0, st>>>(static_cast<const __nv_bfloat16*>(vis), mask_token, pos,
                                                        vis_idx, mask_idx, static_cast<__nv_bfloat16*>(out),
                                                        (int)s.visible, (int)s.masked, (int)s.channels);
  else
    assemble_kernel<<<(unsigned)rows, threads, 0, st>>>(static_cast<const float*>(vis), mask_token, pos, vis_idx,
                                                        mask_idx, static_cast<float*>(out), (int)s.visible,
                                                        (int)s.masked, (int)s.channels);
  cuda::check_launch("decoder_assemble_cuda");
}

void decoder_assemble_backward_cuda(const void* dout, bool bf16, float* partial, float* d_mask_token,
                                    const DecoderAssembleShape& s, void* stream) {
  const int C = (int)s.channels, rows = (int)(s.batch * s.masked);
  auto st = static_cast<cudaStream_t>(stream);
  if (C == 0) return;
  if (rows == 0) {
    cuda::check(cudaMemsetAsync(d_mask_token, 0, sizeof(float) * C, st), "decoder_assemble_backward_cuda (memset)");
    return;
  }
  const dim3 block(32, 8), grid((C + 31) / 32, kAssembleChunks);
  if (bf16)
    mask_grad_partial_kernel<<<grid, block, 0, st>>>(static_cast<const __nv_bfloat16*>(dout), partial, rows,
                                                     (int)s.visible, (int)s.masked, C);
  else
    mask_grad_partial_kernel<<<grid, block, 0, st>>>(static_cast<const float*>(dout), partial, rows, (int)s.visible,
                                                     (int)s.masked, C);
  cuda::check_launch("decoder_assemble_backward_cuda (partial)");
  mask_grad_final_kernel<<<(C + 255) / 256, 256, 0, st>>>(partial, d_mask_token, kAssembleChunks, C);
  cuda::check_launch("decoder_assemble_backward_cuda (final)");
}

}  // namespace tats::kernels
