// CPU reference for decoder_assemble.h: plain loops.
#include "kernels/decoder_assemble.h"

#include <vector>

namespace tats::kernels {

void decoder_assemble_cpu(const float* vis, const float* mask_token, const float* pos, const int64_t* vis_idx,
                          const int64_t* mask_idx, float* out, const DecoderAssembleShape& s) {
  const int64_t B = s.batch, Nv = s.visible, Nm = s.masked, C = s.channels, L = Nv + Nm;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t j = 0; j < Nv; ++j) {  // out[b, j, :] = vis[b, j, :] + pos[vis_idx[b, j], :]
      const int64_t n = vis_idx[b * Nv + j];
      for (int64_t c = 0; c < C; ++c) out[(b * L + j) * C + c] = vis[(b * Nv + j) * C + c] + pos[n * C + c];
    }
    for (int64_t m = 0; m < Nm; ++m) {  // out[b, Nv + m, :] = mask_token + pos[mask_idx[b, m], :]
      const int64_t n = mask_idx[b * Nm + m];
      for (int64_t c = 0; c < C; ++c) out[(b * L + Nv + m) * C + c] = mask_token[c] + pos[n * C + c];
    }
  }
}

void decoder_assemble_backward_cpu(const float* dout, float* d_mask_token, const DecoderAssembleShape& s) {
  const int64_t B = s.batch, Nv = s.visible, Nm = s.masked, C = s.channels, L = Nv + Nm;
  std::vector<double> acc(C, 0.0);
  // d_mask_token[c] = sum_{b, m} dout[b, Nv + m, c]
  for (int64_t b = 0; b < B; ++b)
    for (int64_t m = 0; m < Nm; ++m)
      for (int64_t c = 0; c < C; ++c) acc[c] += dout[(b * L + Nv + m) * C + c];
  for (int64_t c = 0; c < C; ++c) d_mask_token[c] = static_cast<float>(acc[c]);
}

}  // namespace tats::kernels
