// Trajectory pooling: the temporal stage of the TATS sampler's trajectory attention
// (native/core/trajectory_attention.h) with the trajectory variance its actor reads, from one read
// of the trajectory tokens.
//
// Why this op exists. Motionformer's temporal stage projects every trajectory token to a key and
// a value (proj_kv: [B, N, T, C] -> [B, N, T, 2C], 2*N*T*C*2C FLOPs a clip, ~40% of the sampler
// forward at the base size) and then takes one softmax over T per token and head. Both
// projections are linear, so they factor through the query and the pooled output
// (native/core/trajectory_attention.cpp): with a_h = Wk_h^T q_h (the query pulled back to channel
// space), q_h . k_{h,t} = a_h . yt_t + q_h . bk_h, the last term constant over t, and
// y_h = Wv_h z_h + bv_h with z_h = sum_t p_{h,t} yt_t (sum_t p = 1). This op computes p and z
// (and the variance) straight from yt; the keys and values never exist.
//
// Rows are tokens, R = B*N flattened; heads come first in a and z so that the two small batched
// GEMMs around the op (a = q_h Wk_h, y_h = z_h Wv_h^T, batched over h) read and write them in
// place. Per row r and head h:
//   s[h,t]   = scale * a[h,r,:] . yt[r,t,:]        (scale = 1/sqrt(d), d = C/h in the sampler)
//   p[h,:]   = softmax_t(s[h,:])
//   z[h,r,:] = sum_t p[h,t] yt[r,t,:]
//   var[r,c] = mean_t (yt[r,t,c] - mean_t yt[r,t,c])^2   (population variance, divisor T)
// Layout (all contiguous): yt [R, T, C], a [H, R, C], z [H, R, C], var [R, C]. All fp32, or all
// bf16 (CUDA); computation in fp32.
// Backward, given dz [H, R, C] and dvar [R, C] (p recomputed; nothing saved but the inputs):
//   g[h,t]  = dz[h,r,:] . yt[r,t,:];   D[h] = sum_t p[h,t] g[h,t];   ds[h,t] = p[h,t] (g[h,t] - D[h])
//   dyt[r,t,:] = sum_h (p[h,t] dz[h,r,:] + scale ds[h,t] a[h,r,:]) + dvar[r,:] 2 (yt[r,t,:] - mean) / T
//   da[h,r,:]  = scale sum_t ds[h,t] yt[r,t,:]
// Preconditions: R >= 1, T >= 1, C >= 1, H >= 1; CUDA: trajectory_pool_cuda_fits(T, C, H).
#pragma once
#include <cstdint>

namespace tats::kernels {

struct TrajectoryPoolShape {
  int64_t rows, frames, channels, heads;  // R, T, C, H
  double scale;                           // multiplies the logits a . yt
};

// The CUDA kernels keep one token's T x C trajectory row in the registers of one block of four
// warps (up to 32 floats a lane, and as many accumulators in the backward), so T and C are bounded;
// H is bounded to keep the per-head loop's bounds checked.
constexpr int64_t kTrajectoryPoolMaxHeads = 64;
inline bool trajectory_pool_cuda_fits(int64_t frames, int64_t channels, int64_t heads) {
  return heads >= 1 && heads <= kTrajectoryPoolMaxHeads && frames >= 1 && channels >= 1 &&
         ((frames <= 8 && channels <= 512) || (frames <= 16 && channels <= 256));
}

void trajectory_pool_cpu(const float* yt, const float* a, float* z, float* var, const TrajectoryPoolShape& s);
void trajectory_pool_backward_cpu(const float* yt, const float* a, const float* dz, const float* dvar, float* dyt,
                                  float* da, const TrajectoryPoolShape& s);

#ifdef TATS_WITH_CUDA
// One block of four warps per row; `bf16` selects bf16 storage for every tensor. What still round-trips through
// HBM: yt [R, T, C] (stage 1's attention call writes it, per frame and head, and the backward
// needs it; fusing stage 1 in would mean one kernel holding a token's T per-frame softmaxes over S
// keys, out of scope), read once here in the forward and once in the backward; a and z (each
// [H, R, C]) between this op and the GEMMs on either side (a = q_h Wk_h, y = z_h Wv_h^T: fusing
// them would put a C x C weight slice per head in this kernel), and var [R, C].
void trajectory_pool_cuda(const void* yt, const void* a, void* z, void* var, bool bf16, const TrajectoryPoolShape& s,
                          void* stream);
void trajectory_pool_backward_cuda(const void* yt, const void* a, const void* dz, const void* dvar, void* dyt,
                                   void* da, bool bf16, const TrajectoryPoolShape& s, void* stream);
#endif

}  // namespace tats::kernels
