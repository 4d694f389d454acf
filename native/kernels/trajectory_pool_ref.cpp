// CPU reference for trajectory_pool.h: plain loops, sums in double.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/trajectory_pool.h"

namespace tats::kernels {

namespace {

// p[h*T + t] = softmax_t(scale * a[h, r, :] . yt[r, t, :]) for row r, every head.
void row_softmax(const float* yt, const float* a, int64_t r, const TrajectoryPoolShape& s, std::vector<double>& p) {
  const int64_t R = s.rows, T = s.frames, C = s.channels, H = s.heads;
  const float* yr = yt + r * T * C;  // [T, C]
  for (int64_t h = 0; h < H; ++h) {
    const float* ah = a + (h * R + r) * C;  // [C]
    double* ph = p.data() + h * T;
    double mx = -INFINITY;
    for (int64_t t = 0; t < T; ++t) {
      double dot = 0;
      for (int64_t c = 0; c < C; ++c) dot += double(ah[c]) * yr[t * C + c];
      ph[t] = dot * s.scale;
      mx = std::max(mx, ph[t]);
    }
    double sum = 0;
    for (int64_t t = 0; t < T; ++t) sum += (ph[t] = std::exp(ph[t] - mx));
    for (int64_t t = 0; t < T; ++t) ph[t] /= sum;
  }
}

// mean[c] = mean_t yt[r, t, c].
void row_mean(const float* yt, int64_t r, const TrajectoryPoolShape& s, std::vector<double>& mean) {
  const int64_t T = s.frames, C = s.channels;
  std::fill(mean.begin(), mean.end(), 0.0);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t c = 0; c < C; ++c) mean[c] += yt[(r * T + t) * C + c];
  for (int64_t c = 0; c < C; ++c) mean[c] /= T;
}

}  // namespace

void trajectory_pool_cpu(const float* yt, const float* a, float* z, float* var, const TrajectoryPoolShape& s) {
  const int64_t R = s.rows, T = s.frames, C = s.channels, H = s.heads;
  std::vector<double> p(H * T), acc(C), mean(C);
  for (int64_t r = 0; r < R; ++r) {
    const float* yr = yt + r * T * C;
    row_softmax(yt, a, r, s, p);
    for (int64_t h = 0; h < H; ++h) {  // z[h, r, :] = sum_t p[h, t] yt[r, t, :]
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t t = 0; t < T; ++t)
        for (int64_t c = 0; c < C; ++c) acc[c] += p[h * T + t] * yr[t * C + c];
      for (int64_t c = 0; c < C; ++c) z[(h * R + r) * C + c] = static_cast<float>(acc[c]);
    }
    row_mean(yt, r, s, mean);
    std::fill(acc.begin(), acc.end(), 0.0);  // var[r, :] = mean_t (yt[r, t, :] - mean)^2
    for (int64_t t = 0; t < T; ++t)
      for (int64_t c = 0; c < C; ++c) acc[c] += (yr[t * C + c] - mean[c]) * (yr[t * C + c] - mean[c]);
    for (int64_t c = 0; c < C; ++c) var[r * C + c] = static_cast<float>(acc[c] / T);
  }
}

void trajectory_pool_backward_cpu(const float* yt, const float* a, const float* dz, const float* dvar, float* dyt,
                                  float* da, const TrajectoryPoolShape& s) {
  const int64_t R = s.rows, T = s.frames, C = s.channels, H = s.heads;
  std::vector<double> p(H * T), ds(H * T), mean(C), acc(T * C), dacc(C);
  for (int64_t r = 0; r < R; ++r) {
    const float* yr = yt + r * T * C;  // [T, C]
    row_softmax(yt, a, r, s, p);
    for (int64_t h = 0; h < H; ++h) {  // ds[h, t] = p (g - D), g[t] = dz[h, r, :] . yt[r, t, :]
      const float* dzh = dz + (h * R + r) * C;
      double D = 0;
      for (int64_t t = 0; t < T; ++t) {
        double g = 0;
        for (int64_t c = 0; c < C; ++c) g += double(dzh[c]) * yr[t * C + c];
        ds[h * T + t] = g;
        D += p[h * T + t] * g;
      }
      for (int64_t t = 0; t < T; ++t) ds[h * T + t] = p[h * T + t] * (ds[h * T + t] - D);
    }
    // dyt[r, t, :] = the variance's term + sum_h (p[h, t] dz[h, r, :] + scale ds[h, t] a[h, r, :])
    row_mean(yt, r, s, mean);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t c = 0; c < C; ++c) acc[t * C + c] = dvar[r * C + c] * 2.0 * (yr[t * C + c] - mean[c]) / T;
    for (int64_t h = 0; h < H; ++h) {
      const float *ah = a + (h * R + r) * C, *dzh = dz + (h * R + r) * C;
      std::fill(dacc.begin(), dacc.end(), 0.0);
      for (int64_t t = 0; t < T; ++t) {
        const double pt = p[h * T + t], st = ds[h * T + t] * s.scale;
        for (int64_t c = 0; c < C; ++c) {
          acc[t * C + c] += pt * dzh[c] + st * ah[c];
          dacc[c] += st * yr[t * C + c];  // da[h, r, :] = scale sum_t ds[h, t] yt[r, t, :]
        }
      }
      for (int64_t c = 0; c < C; ++c) da[(h * R + r) * C + c] = static_cast<float>(dacc[c]);
    }
    for (int64_t i = 0; i < T * C; ++i) dyt[r * T * C + i] = static_cast<float>(acc[i]);
  }
}

}  // namespace tats::kernels
