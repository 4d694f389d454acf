// Gather of the visible tokens plus their positions: the encoder's input.
//
// Layout (contiguous, row-major):
//   x    [B, N, C]   fp32 or bf16 (bf16 on CUDA; the CPU reference is fp32)   all token embeddings
//   pos  [N, C]      fp32                                                      fixed position table
//   idx  [B, Nv]     int64, distinct within a row, in [0, N)                  visible tokens
//   out  [B, Nv, C]  dtype of x:  out[b,j,:] = x[b, idx[b,j], :] + pos[idx[b,j], :]  (added in fp32)
// Backward (pos is a fixed table: no gradient):
//   dx [B, N, C] dtype of x: dx[b, idx[b,j], :] = dout[b,j,:]; every other row 0. The backward
//   writes only the gathered rows: the caller zero-fills dx first (indices are distinct, so the
//   scatter needs no atomics).
// Preconditions: B, N, Nv, C >= 1.
#pragma once
#include <cstdint>

namespace tats::kernels {

struct GatherVisibleShape {
  int64_t batch, tokens, visible, channels;  // B, N, Nv, C
};

void gather_visible_cpu(const float* x, const float* pos, const int64_t* idx, float* out, const GatherVisibleShape& s);
void gather_visible_backward_cpu(const float* dout, const int64_t* idx, float* dx, const GatherVisibleShape& s);

#ifdef TATS_WITH_CUDA
// One block per visible row, threads along C (coalesced). `bf16` selects bf16 x/out (dout/dx).
void gather_visible_cuda(const void* x, bool bf16, const float* pos, const int64_t* idx, void* out,
                         const GatherVisibleShape& s, void* stream);
void gather_visible_backward_cuda(const void* dout, bool bf16, const int64_t* idx, void* dx,
                                  const GatherVisibleShape& s, void* stream);
#endif

}  // namespace tats::kernels
