// CPU reference for gather_visible.h: plain loops.
#include "kernels/gather_visible.h"

namespace tats::kernels {

void gather_visible_cpu(const float* x, const float* pos, const int64_t* idx, float* out,
                        const GatherVisibleShape& s) {
  const int64_t B = s.batch, N = s.tokens, Nv = s.visible, C = s.channels;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < Nv; ++j) {
      const int64_t n = idx[b * Nv + j];
      // out[b, j, :] = x[b, n, :] + pos[n, :]
      for (int64_t c = 0; c < C; ++c) out[(b * Nv + j) * C + c] = x[(b * N + n) * C + c] + pos[n * C + c];
    }
}

void gather_visible_backward_cpu(const float* dout, const int64_t* idx, float* dx, const GatherVisibleShape& s) {
  const int64_t B = s.batch, N = s.tokens, Nv = s.visible, C = s.channels;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < Nv; ++j) {
      const int64_t n = idx[b * Nv + j];
      // dx[b, n, :] = dout[b, j, :]
      for (int64_t c = 0; c < C; ++c) dx[(b * N + n) * C + c] = dout[(b * Nv + j) * C + c];
    }
}

}  // namespace tats::kernels
