// CUDA version of trajectory_temporal.h.
// Temporal attention: one warp per row; lane l holds channels l, l+32, ... (at most 8, compile-time
// indexed so they stay in registers). For each t the warp reads k[t] and v[t] (coalesced rows of
// d), reduces the dot product with shuffles and updates an online softmax, so p is never stored.
// The backward recomputes the logits: pass 1 rebuilds y (hence D = dy . y) and the softmax
// normaliser, pass 2 writes dk[t], dv[t] and accumulates dq. Traffic per row: forward 2*T*d
// elements in, d out; backward 2*T*d in twice and 2*T*d out.
// Variance: one thread per (row, channel), two passes over T (mean, then squares), coalesced
// along the channels.
#include <cuda_runtime.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/cuda_util.cuh"
#include "kernels/trajectory_temporal.h"

namespace tats::kernels {

namespace {

using cuda::from_f32;
using cuda::to_f32;
using cuda::warp_sum;

constexpr int kWarpsPerBlock = 4;
constexpr int kPerLane = kTrajectoryMaxDim / 32;  // 8
constexpr int kThreads = 256;

// k/v addressing of TrajectoryShape, resolved on the host (strides in elements).
struct KvLayout {
  int64_t group_stride, head_stride, frame_stride;
  int heads;
  __device__ int64_t base(int64_t row) const { return (row / heads) * group_stride + (row % heads) * head_stride; }
};

template <typename T>
__global__ void temporal_forward_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                                        T* __restrict__ y, int64_t rows, int frames, int dim, float scale,
                                        KvLayout kv) {
  const int lane = threadIdx.x & 31;
  const int64_t row = blockIdx.x * (int64_t)kWarpsPerBlock + (threadIdx.x >> 5);
  if (row >= rows) return;  // whole warps exit together
  const int64_t base = kv.base(row);
  float qr[kPerLane], acc[kPerLane];
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) {
    const int c = lane + 32 * i;
    qr[i] = c < dim ? to_f32(q[row * dim + c]) : 0.f;
    acc[i] = 0.f;
  }
  float m = -INFINITY, l = 0.f;
  for (int t = 0; t < frames; ++t) {
    const T* kt = k + base + t * kv.frame_stride;
    const T* vt = v + base + t * kv.frame_stride;
    float dot = 0.f;
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) {
      const int c = lane + 32 * i;
      if (c < dim) dot += qr[i] * to_f32(kt[c]);
    }
    const float s = warp_sum(dot) * scale;
    const float m_new = fmaxf(m, s);
    const float corr = expf(m - m_new), e = expf(s - m_new);  // corr = 0 on the first step
    l = l * corr + e;
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) {
      const int c = lane + 32 * i;
      acc[i] = acc[i] * corr + (c < dim ? e * to_f32(vt[c]) : 0.f);
    }
    m = m_new;
  }
  const float inv = 1.f / l;
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) {
    const int c = lane + 32 * i;
    if (c < dim) y[row * dim + c] = from_f32<T>(acc[i] * inv);
  }
}

template <typename T>
__global__ void temporal_backward_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                                         const T* __restrict__ dy, T* __restrict__ dq, T* __restrict__ dk,
                                         T* __restrict__ dv, int64_t rows, int frames, int dim, float scale,
                                         KvLayout kv) {
  const int lane = threadIdx.x & 31;
  const int64_t row = blockIdx.x * (int64_t)kWarpsPerBlock + (threadIdx.x >> 5);
  if (row >= rows) return;
  const int64_t base = kv.base(row);
  float qr[kPerLane], dyr[kPerLane], acc[kPerLane];
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) {
    const int c = lane + 32 * i;
    qr[i] = c < dim ? to_f32(q[row * dim + c]) : 0.f;
    dyr[i] = c < dim ? to_f32(dy[row * dim + c]) : 0.f;
    acc[i] = 0.f;
  }
  // Pass 1: softmax max and normaliser, and y (unnormalised in acc) for D = dy . y.
  float m = -INFINITY, l = 0.f;
  for (int t = 0; t < frames; ++t) {
    const T* kt = k + base + t * kv.frame_stride;
    const T* vt = v + base + t * kv.frame_stride;
    float dot = 0.f;
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) {
      const int c = lane + 32 * i;
      if (c < dim) dot += qr[i] * to_f32(kt[c]);
    }
    const float s = warp_sum(dot) * scale;
    const float m_new = fmaxf(m, s);
    const float corr = expf(m - m_new), e = expf(s - m_new);
    l = l * corr + e;
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) {
      const int c = lane + 32 * i;
      acc[i] = acc[i] * corr + (c < dim ? e * to_f32(vt[c]) : 0.f);
    }
    m = m_new;
  }
  const float inv_l = 1.f / l;
  float dyy = 0.f;
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) dyy += dyr[i] * acc[i];
  const float D = warp_sum(dyy) * inv_l;
  // Pass 2: p[t], dp[t] = dy . v[t], ds[t] = p (dp - D); write dk[t], dv[t]; accumulate dq.
  float dqa[kPerLane];
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) dqa[i] = 0.f;
  for (int t = 0; t < frames; ++t) {
    const int64_t off = base + t * kv.frame_stride;
    float dot = 0.f, dpv = 0.f;
    float kt[kPerLane];
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) {
      const int c = lane + 32 * i;
      kt[i] = c < dim ? to_f32(k[off + c]) : 0.f;
      dot += qr[i] * kt[i];
      if (c < dim) dpv += dyr[i] * to_f32(v[off + c]);
    }
    const float p = expf(warp_sum(dot) * scale - m) * inv_l;
    const float ds = p * (warp_sum(dpv) - D);
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) {
      const int c = lane + 32 * i;
      if (c < dim) {
        dk[off + c] = from_f32<T>(ds * scale * qr[i]);
        dv[off + c] = from_f32<T>(p * dyr[i]);
        dqa[i] += ds * kt[i];
      }
    }
  }
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) {
    const int c = lane + 32 * i;
    if (c < dim) dq[row * dim + c] = from_f32<T>(dqa[i] * scale);
  }
}

template <typename T>
__global__ void variance_kernel(const T* __restrict__ yt, T* __restrict__ var, int64_t total, int frames, int dim) {
  const int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;  // r * d + c
  if (e >= total) return;
  const int64_t r = e / dim;
  const int c = (int)(e % dim);
  const T* base = yt + r * frames * dim + c;
  float mean = 0.f;
  for (int t = 0; t < frames; ++t) mean += to_f32(base[(size_t)t * dim]);
  mean /= frames;
  float sq = 0.f;
  for (int t = 0; t < frames; ++t) {
    const float x = to_f32(base[(size_t)t * dim]) - mean;
    sq += x * x;
  }
  var[e] = from_f32<T>(sq / frames);
}

template <typename T>
__global__ void variance_backward_kernel(const T* __restrict__ yt, const T* __restrict__ dvar, T* __restrict__ dyt,
                                         int64_t total, int frames, int dim) {
  const int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (e >= total) return;
  const int64_t r = e / dim;
  const int c = (int)(e % dim);
  const size_t base = r * frames * dim + c;
  float mean = 0.f;
  for (int t = 0; t < frames; ++t) mean += to_f32(yt[base + (size_t)t * dim]);
  mean /= frames;
  const float g = to_f32(dvar[e]) * 2.f / frames;
  for (int t = 0; t < frames; ++t) {
    const size_t i = base + (size_t)t * dim;
    dyt[i] = from_f32<T>(g * (to_f32(yt[i]) - mean));
  }
}

void check_shape(const TrajectoryShape& s, const char* what) {
  if (s.heads < 1) throw std::runtime_error(std::string(what) + ": heads must be >= 1");
  if (s.frames < 1 || s.dim < 1 || s.dim > kTrajectoryMaxDim)
    throw std::runtime_error(std::string(what) + ": need T >= 1 and 1 <= d <= " + std::to_string(kTrajectoryMaxDim) +
                             " (T = " + std::to_string(s.frames) + ", d = " + std::to_string(s.dim) + ")");
}

KvLayout kv_layout(const TrajectoryShape& s) {
  return {s.group_stride ? s.group_stride : s.frames * s.dim, s.head_stride, s.frame_stride ? s.frame_stride : s.dim,
          (int)s.heads};
}
unsigned row_blocks(int64_t rows) { return (unsigned)((rows + kWarpsPerBlock - 1) / kWarpsPerBlock); }
unsigned elem_blocks(int64_t n) { return (unsigned)((n + kThreads - 1) / kThreads); }

}  // namespace

void trajectory_temporal_cuda(const void* q, const void* k, const void* v, void* y, bool bf16,
                              const TrajectoryShape& s, void* stream) {
  check_shape(s, "trajectory_temporal_cuda");
  if (s.rows == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  const float scale = 1.f / sqrtf((float)s.dim);
  if (bf16) {
    using B = __nv_bfloat16;
    temporal_forward_kernel<<<row_blocks(s.rows), 32 * kWarpsPerBlock, 0, st>>>(
        static_cast<const B*>(q), static_cast<const B*>(k), static_cast<const B*>(v), static_cast<B*>(y), s.rows,
        (int)s.frames, (int)s.dim, scale, kv_layout(s));
  } else {
    temporal_forward_kernel<<<row_blocks(s.rows), 32 * kWarpsPerBlock, 0, st>>>(
        static_cast<const float*>(q), static_cast<const float*>(k), static_cast<const float*>(v),
        static_cast<float*>(y), s.rows, (int)s.frames, (int)s.dim, scale, kv_layout(s));
  }
  cuda::check_launch("trajectory_temporal_cuda");
}

void trajectory_temporal_backward_cuda(const void* q, const void* k, const void* v, const void* dy, void* dq,
                                       void* dk, void* dv, bool bf16, const TrajectoryShape& s, void* stream) {
  check_shape(s, "trajectory_temporal_backward_cuda");
  if (s.rows == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  const float scale = 1.f / sqrtf((float)s.dim);
  if (bf16) {
    using B = __nv_bfloat16;
    temporal_backward_kernel<<<row_blocks(s.rows), 32 * kWarpsPerBlock, 0, st>>>(
        static_cast<const B*>(q), static_cast<const B*>(k), static_cast<const B*>(v), static_cast<const B*>(dy),
        static_cast<B*>(dq), static_cast<B*>(dk), static_cast<B*>(dv), s.rows, (int)s.frames, (int)s.dim, scale,
        kv_layout(s));
  } else {
    temporal_backward_kernel<<<row_blocks(s.rows), 32 * kWarpsPerBlock, 0, st>>>(
        static_cast<const float*>(q), static_cast<const float*>(k), static_cast<const float*>(v),
        static_cast<const float*>(dy), static_cast<float*>(dq), static_cast<float*>(dk), static_cast<float*>(dv),
        s.rows, (int)s.frames, (int)s.dim, scale, kv_layout(s));
  }
  cuda::check_launch("trajectory_temporal_backward_cuda");
}

void trajectory_variance_cuda(const void* yt, void* var, bool bf16, const TrajectoryShape& s, void* stream) {
  if (s.frames < 1) throw std::runtime_error("trajectory_variance_cuda: need T >= 1");
  const int64_t total = s.rows * s.dim;
  if (total == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  if (bf16)
    variance_kernel<<<elem_blocks(total), kThreads, 0, st>>>(static_cast<const __nv_bfloat16*>(yt),
                                                             static_cast<__nv_bfloat16*>(var), total, (int)s.frames,
                                                             (int)s.dim);
  else
    variance_kernel<<<elem_blocks(total), kThreads, 0, st>>>(static_cast<const float*>(yt), static_cast<float*>(var),
                                                             total, (int)s.frames, (int)s.dim);
  cuda::check_launch("trajectory_variance_cuda");
}

void trajectory_variance_backward_cuda(const void* yt, const void* dvar, void* dyt, bool bf16,
                                       const TrajectoryShape& s, void* stream) {
  if (s.frames < 1) throw std::runtime_error("trajectory_variance_backward_cuda: need T >= 1");
  const int64_t total = s.rows * s.dim;
  if (total == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  if (bf16)
    variance_backward_kernel<<<elem_blocks(total), kThreads, 0, st>>>(
        static_cast<const __nv_bfloat16*>(yt), static_cast<const __nv_bfloat16*>(dvar),
        static_cast<__nv_bfloat16*>(dyt), total, (int)s.frames, (int)s.dim);
  else
    variance_backward_kernel<<<elem_blocks(total), kThreads, 0, st>>>(static_cast<const float*>(yt),
                                                                      static_cast<const float*>(dvar),
                                                                      static_cast<float*>(dyt), total, (int)s.frames,
                                                                      (int)s.dim);
  cuda::check_launch("trajectory_variance_backward_cuda");
}

}  // namespace tats::kernels
