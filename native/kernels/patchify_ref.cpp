// CPU reference for patchify.h: the plainest loops, one token at a time.
#include "kernels/patchify.h"

#include <cmath>
#include <vector>

namespace tats::kernels {

namespace {
constexpr float kMean[3] = {0.485f, 0.456f, 0.406f};  // ImageNet, as VideoMAE
constexpr float kStd[3] = {0.229f, 0.224f, 0.225f};
constexpr double kTargetEps = 1e-6;
}  // namespace

void patchify_cpu(const uint8_t* clips, float* patches, float* targets, const PatchifyShape& s) {
  const int64_t gt = s.frames / s.tubelet, gh = s.height / s.patch, gw = s.width / s.patch;
  const int64_t n_tokens = gt * gh * gw;
  const int64_t pix = s.tubelet * s.patch * s.patch;  // pixels per tubelet, per channel
  std::vector<double> values(pix * 3);
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t tok = 0; tok < n_tokens; ++tok) {
      const int64_t ti = tok / (gh * gw), hi = (tok / gw) % gh, wi = tok % gw;
      // Gather the tubelet: values[(dt, dy, dx), c] in [0, 1].
      for (int64_t dt = 0; dt < s.tubelet; ++dt)
        for (int64_t dy = 0; dy < s.patch; ++dy)
          for (int64_t dx = 0; dx < s.patch; ++dx) {
            const int64_t t = ti * s.tubelet + dt, y = hi * s.patch + dy, x = wi * s.patch + dx;
            const uint8_t* px = clips + (((b * s.frames + t) * s.height + y) * s.width + x) * 3;
            const int64_t p = (dt * s.patch + dy) * s.patch + dx;
            for (int c = 0; c < 3; ++c) values[p * 3 + c] = px[c] / 255.0;
          }
      const int64_t row = b * n_tokens + tok;
      if (patches) {
        float* out = patches + row * 3 * pix;
        for (int c = 0; c < 3; ++c)
          for (int64_t p = 0; p < pix; ++p)
            out[c * pix + p] = static_cast<float>((values[p * 3 + c] - kMean[c]) / kStd[c]);
      }
      if (targets) {
        float* out = targets + row * pix * 3;
        for (int c = 0; c < 3; ++c) {
          double mean = 0;
          for (int64_t p = 0; p < pix; ++p) mean += values[p * 3 + c];
          mean /= pix;
          double var = 0;
          for (int64_t p = 0; p < pix; ++p) var += (values[p * 3 + c] - mean) * (values[p * 3 + c] - mean);
          var /= (pix - 1);
          const double denom = std::sqrt(var) + kTargetEps;
          for (int64_t p = 0; p < pix; ++p) out[p * 3 + c] = static_cast<float>((values[p * 3 + c] - mean) / denom);
        }
      }
    }
  }
}

}  // namespace tats::kernels
