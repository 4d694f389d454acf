// CPU reference for masked_mse.h: plain loops, accumulating in double.
#include "kernels/masked_mse.h"

namespace tats::kernels {

void masked_mse_cpu(const float* pred, const float* target, const int64_t* idx, float* err, float* loss,
                    const MaskedMseShape& s) {
  const int64_t B = s.batch, N = s.tokens, Nm = s.masked, P = s.values;
  double total = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < Nm; ++j) {
      const float* p = pred + (b * Nm + j) * P;              // pred[b, j, :]
      const float* t = target + (b * N + idx[b * Nm + j]) * P;  // target[b, idx[b, j], :]
      double sq = 0;
      for (int64_t q = 0; q < P; ++q) sq += (double(p[q]) - t[q]) * (double(p[q]) - t[q]);
      const double e = sq / P;
      err[b * Nm + j] = static_cast<float>(e);
      total += e;
    }
  if (loss) *loss = static_cast<float>(total / (B * Nm));
}

void masked_mse_backward_cpu(const float* pred, const float* target, const int64_t* idx, const float* g_loss,
                             const float* g_err, float* dpred, const MaskedMseShape& s) {
  const int64_t B = s.batch, N = s.tokens, Nm = s.masked, P = s.values;
  const double gl = g_loss ? *g_loss / double(B * Nm) : 0.0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < Nm; ++j) {
      const double scale = 2.0 / P * (gl + (g_err ? g_err[b * Nm + j] : 0.0));
      const float* p = pred + (b * Nm + j) * P;
      const float* t = target + (b * N + idx[b * Nm + j]) * P;
      float* d = dpred + (b * Nm + j) * P;
      for (int64_t q = 0; q < P; ++q) d[q] = static_cast<float>(scale * (double(p[q]) - t[q]));
    }
}

}  // namespace tats::kernels
