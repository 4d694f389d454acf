// CPU reference for trajectory_temporal.h: plain loops, sums in double.
#include <cmath>
#include <vector>

#include "kernels/trajectory_temporal.h"

namespace tats::kernels {

namespace {

// p[t] = softmax_t(q . k[r, t] / sqrt(d)) for row r.
void row_softmax(const float* q, const float* k, int64_t r, const TrajectoryShape& s, std::vector<double>& p) {
  const int64_t T = s.frames, d = s.dim;
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  double mx = -INFINITY;
  for (int64_t t = 0; t < T; ++t) {
    const float* kt = k + trajectory_kv_offset(s, r, t);
    double dot = 0;
    for (int64_t c = 0; c < d; ++c) dot += double(q[c]) * kt[c];
    p[t] = dot * scale;
    mx = std::max(mx, p[t]);
  }
  double z = 0;
  for (int64_t t = 0; t < T; ++t) z += (p[t] = std::exp(p[t] - mx));
  for (int64_t t = 0; t < T; ++t) p[t] /= z;
}

}  // namespace

void trajectory_temporal_cpu(const float* q, const float* k, const float* v, float* y, const TrajectoryShape& s) {
  const int64_t R = s.rows, T = s.frames, d = s.dim;
  std::vector<double> p(T);
  for (int64_t r = 0; r < R; ++r) {
    row_softmax(q + r * d, k, r, s, p);
    for (int64_t c = 0; c < d; ++c) {  // y[r, c] = sum_t p[t] v[r, t, c]
      double acc = 0;
      for (int64_t t = 0; t < T; ++t) acc += p[t] * v[trajectory_kv_offset(s, r, t) + c];
      y[r * d + c] = static_cast<float>(acc);
    }
  }
}

void trajectory_temporal_backward_cpu(const float* q, const float* k, const float* v, const float* dy, float* dq,
                                      float* dk, float* dv, const TrajectoryShape& s) {
  const int64_t R = s.rows, T = s.frames, d = s.dim;
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  std::vector<double> p(T), dp(T);
  for (int64_t r = 0; r < R; ++r) {
    const float *qr = q + r * d, *dyr = dy + r * d;
    row_softmax(qr, k, r, s, p);
    double D = 0;  // sum_t p[t] dp[t]
    for (int64_t t = 0; t < T; ++t) {
      const float* vt = v + trajectory_kv_offset(s, r, t);
      dp[t] = 0;
      for (int64_t c = 0; c < d; ++c) dp[t] += double(dyr[c]) * vt[c];
      D += p[t] * dp[t];
    }
    for (int64_t c = 0; c < d; ++c) {
      double acc = 0;
      for (int64_t t = 0; t < T; ++t) acc += p[t] * (dp[t] - D) * k[trajectory_kv_offset(s, r, t) + c];
      dq[r * d + c] = static_cast<float>(acc * scale);
    }
    for (int64_t t = 0; t < T; ++t) {
      const double ds = p[t] * (dp[t] - D);
      const int64_t o = trajectory_kv_offset(s, r, t);
      for (int64_t c = 0; c < d; ++c) {
        dk[o + c] = static_cast<float>(ds * scale * qr[c]);
        dv[o + c] = static_cast<float>(p[t] * dyr[c]);
      }
    }
  }
}

void trajectory_variance_cpu(const float* yt, float* var, const TrajectoryShape& s) {
  const int64_t R = s.rows, T = s.frames, d = s.dim;
  for (int64_t r = 0; r < R; ++r)
    for (int64_t c = 0; c < d; ++c) {
      double mean = 0;
      for (int64_t t = 0; t < T; ++t) mean += yt[(r * T + t) * d + c];
      mean /= T;
      double sq = 0;
      for (int64_t t = 0; t < T; ++t) sq += (yt[(r * T + t) * d + c] - mean) * (yt[(r * T + t) * d + c] - mean);
      var[r * d + c] = static_cast<float>(sq / T);
    }
}

void trajectory_variance_backward_cpu(const float* yt, const float* dvar, float* dyt, const TrajectoryShape& s) {
  const int64_t R = s.rows, T = s.frames, d = s.dim;
  for (int64_t r = 0; r < R; ++r)
    for (int64_t c = 0; c < d; ++c) {
      double mean = 0;
      for (int64_t t = 0; t < T; ++t) mean += yt[(r * T + t) * d + c];
      mean /= T;
      for (int64_t t = 0; t < T; ++t)
        dyt[(r * T + t) * d + c] = static_cast<float>(dvar[r * d + c] * 2.0 * (yt[(r * T + t) * d + c] - mean) / T);
    }
}

}  // namespace tats::kernels
