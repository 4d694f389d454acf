// Trajectory attention, temporal stage (Motionformer; step 1 of the sampler in native/core/tats_sampler.h) and the trajectory
// variance (step 2). Rows are (batch*head, token) pairs, R = B*h*N, flattened.
//
// Temporal attention, per row r: a softmax over the T trajectory tokens of the row,
//   s[t]  = q[r,:] . k[r,t,:] / sqrt(d)
//   p     = softmax_t(s)
//   y[r,:] = sum_t p[t] v[r,t,:]
// Layout: q [R, d], y [R, d] contiguous; k and v [R, T, d] contiguous by default, or any layout
// with k[r, t, :] at (r / heads) * group_stride + (r % heads) * head_stride + t * frame_stride
// (the TATS sampler passes proj_kv's output [B*N, T, 2, h, d] as is: k and v interleaved per
// frame, no transposed copies). All fp32, or all bf16 (CUDA).
// Backward, given dy [R, d]:  dp[t] = dy . v[t];  D = sum_t p[t] dp[t] (= dy . y);
//   ds[t] = p[t] (dp[t] - D);  dq = sum_t ds[t] k[t] / sqrt(d);  dk[t] = ds[t] q / sqrt(d);
//   dv[t] = p[t] dy.   (Recomputes p; nothing saved but the inputs.)
//
// Trajectory variance, per row and channel (contiguous layout only): var[r,c] = mean_t (yt[r,t,c] - mean_t yt[r,t,c])^2
// (population variance, divisor T). Layout: yt [R, T, d], var [R, d]. Backward, given dvar:
//   dyt[r,t,c] = dvar[r,c] * 2 (yt[r,t,c] - mean) / T.
// Computation in fp32 whatever the storage. Preconditions: R >= 1, T >= 1, 1 <= d; CUDA: d <= 256.
#pragma once
#include <cstdint>

namespace tats::kernels {

constexpr int64_t kTrajectoryMaxDim = 256;  // CUDA: 8 channels per lane of a warp

struct TrajectoryShape {
  int64_t rows, frames, dim;  // R, T, d
  // k/v addressing (elements); 0 = contiguous [R, T, d]: heads 1, group_stride T*d, frame_stride d.
  int64_t heads = 1, group_stride = 0, head_stride = 0, frame_stride = 0;
};

// Offset of k[r, t, 0] (and of v[r, t, 0] from v's base) under `s`'s layout.
inline int64_t trajectory_kv_offset(const TrajectoryShape& s, int64_t r, int64_t t) {
  const int64_t g = s.group_stride ? s.group_stride : s.frames * s.dim;
  const int64_t f = s.frame_stride ? s.frame_stride : s.dim;
  return (r / s.heads) * g + (r % s.heads) * s.head_stride + t * f;
}

void trajectory_temporal_cpu(const float* q, const float* k, const float* v, float* y, const TrajectoryShape& s);
void trajectory_temporal_backward_cpu(const float* q, const float* k, const float* v, const float* dy, float* dq,
                                      float* dk, float* dv, const TrajectoryShape& s);
void trajectory_variance_cpu(const float* yt, float* var, const TrajectoryShape& s);
void trajectory_variance_backward_cpu(const float* yt, const float* dvar, float* dyt, const TrajectoryShape& s);

#ifdef TATS_WITH_CUDA
// One warp per row, online softmax over T; `bf16` selects bf16 storage for every tensor.
void trajectory_temporal_cuda(const void* q, const void* k, const void* v, void* y, bool bf16,
                              const TrajectoryShape& s, void* stream);
void trajectory_temporal_backward_cuda(const void* q, const void* k, const void* v, const void* dy, void* dq,
                                       void* dk, void* dv, bool bf16, const TrajectoryShape& s, void* stream);
// One thread per (row, channel), a loop over T (coalesced along the channels).
void trajectory_variance_cuda(const void* yt, void* var, bool bf16, const TrajectoryShape& s, void* stream);
void trajectory_variance_backward_cuda(const void* yt, const void* dvar, void* dyt, bool bf16,
                                       const TrajectoryShape& s, void* stream);
#endif

}  // namespace tats::kernels
