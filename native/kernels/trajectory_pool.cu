// CUDA version of trajectory_pool.h.
// One warp per row (token), 4 rows a block. Lane l holds channels l, l+32, ... of all T frames of
// the token's trajectory row in registers (y[kT][kCPL], compile-time sized so it stays in
// registers: the smallest of the instantiations below that holds T x C), read from global memory
// once, coalesced along the channels. Heads are a runtime loop: per head the warp loads a[h] (or
// dz[h]) for its channels, forms the T logits with warp-shuffle sums, takes the softmax (every
// lane holds every p[t]) and writes z[h] for its channels.
// Forward traffic per row: T*C + H*C elements in, H*C + C out (the [T, 2C] keys and values the
// unfactored stage read and wrote are gone). Shuffles: T*5 per head.
// Backward, pass 1 (per head): p and g[t] = dz[h] . yt_t by shuffle sums, ds = p (g - D); p and ds
// of every head go to the warp's slice of shared memory (2*H*kT floats). Pass 2 (per channel of
// the lane, all heads): dyt for that channel over every frame and da[h] for that channel, so only
// kT accumulators are live beside the row; a and dz are read a second time (L1/L2 hits).
// Backward traffic per row: T*C + 2*H*C + C in (plus the re-read of a and dz), T*C + H*C out.
#include <cuda_runtime.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "kernels/cuda_util.cuh"
#include "kernels/trajectory_pool.h"

namespace tats::kernels {

namespace {

using cuda::from_f32;
using cuda::to_f32;
using cuda::warp_sum;

constexpr int kWarpsPerBlock = 4;

struct PoolArgs {
  int64_t rows;
  int frames, channels, heads;
  float scale;
};

// y[t][k] = yt[r, t, lane + 32k]; 0 for t >= T or a channel >= C (so padded terms add nothing).
template <int kT, int kCPL, typename T>
__device__ __forceinline__ void load_row(const T* __restrict__ yt, int64_t r, const PoolArgs& g, int lane,
                                         float (&y)[kT][kCPL]) {
  const T* row = yt + r * g.frames * g.channels;
#pragma unroll
  for (int t = 0; t < kT; ++t)
#pragma unroll
    for (int k = 0; k < kCPL; ++k) {
      const int c = lane + 32 * k;
      y[t][k] = (t < g.frames && c < g.channels) ? to_f32(row[(int64_t)t * g.channels + c]) : 0.f;
    }
}

// v[k] = src[lane + 32k], 0 past the channels.
template <int kCPL, typename T>
__device__ __forceinline__ void load_channels(const T* __restrict__ src, int channels, int lane, float (&v)[kCPL]) {
#pragma unroll
  for (int k = 0; k < kCPL; ++k) {
    const int c = lane + 32 * k;
    v[k] = c < channels ? to_f32(src[c]) : 0.f;
  }
}

// out[t] = mul * (v . y[t]), summed over the warp (every lane gets every value); 0 for t >= T.
template <int kT, int kCPL>
__device__ __forceinline__ void warp_dots(const float (&v)[kCPL], const float (&y)[kT][kCPL], int frames, float mul,
                                          float (&out)[kT]) {
#pragma unroll
  for (int t = 0; t < kT; ++t) {
    float acc = 0.f;
#pragma unroll
    for (int k = 0; k < kCPL; ++k) acc += v[k] * y[t][k];
    out[t] = t < frames ? warp_sum(acc) * mul : 0.f;  // `frames` is warp-uniform: every lane shuffles
  }
}

// Logits -> softmax over the first `frames` entries, in place; entries past them become 0.
template <int kT>
__device__ __forceinline__ void softmax_frames(float (&s)[kT], int frames) {
  float m = -INFINITY;
#pragma unroll
  for (int t = 0; t < kT; ++t)
    if (t < frames) m = fmaxf(m, s[t]);
  float l = 0.f;
#pragma unroll
  for (int t = 0; t < kT; ++t) {
    s[t] = t < frames ? expf(s[t] - m) : 0.f;
    l += s[t];
  }
  const float inv = 1.f / l;
#pragma unroll
  for (int t = 0; t < kT; ++t) s[t] *= inv;
}

template <typename T, int kT, int kCPL>
__global__ void __launch_bounds__(32 * kWarpsPerBlock)
    pool_forward_kernel(const T* __restrict__ yt, const T* __restrict__ a, T* __restrict__ z, T* __restrict__ var,
                        PoolArgs g) {
  const int lane = threadIdx.x & 31;
  const int64_t r = blockIdx.x * (int64_t)kWarpsPerBlock + (threadIdx.x >> 5);
  if (r >= g.rows) return;  // whole warps exit together; no block-level sync below
  const int C = g.channels;
  float y[kT][kCPL];
  load_row(yt, r, g, lane, y);
  const int64_t head_stride = g.rows * C;  // a, z: [H, R, C]
  for (int h = 0; h < g.heads; ++h) {
    const int64_t off = h * head_stride + r * C;
    float av[kCPL], p[kT];
    load_channels(a + off, C, lane, av);
    warp_dots(av, y, g.frames, g.scale, p);
    softmax_frames(p, g.frames);
#pragma unroll
    for (int k = 0; k < kCPL; ++k) {
      const int c = lane + 32 * k;
      float acc = 0.f;
#pragma unroll
      for (int t = 0; t < kT; ++t) acc += p[t] * y[t][k];
      if (c < C) z[off + c] = from_f32<T>(acc);
    }
  }
  const float inv_t = 1.f / g.frames;
#pragma unroll
  for (int k = 0; k < kCPL; ++k) {
    const int c = lane + 32 * k;
    float mean = 0.f;
#pragma unroll
    for (int t = 0; t < kT; ++t) mean += y[t][k];
    mean *= inv_t;
    float sq = 0.f;
#pragma unroll
    for (int t = 0; t < kT; ++t) {
      const float x = y[t][k] - mean;
      if (t < g.frames) sq += x * x;
    }
    if (c < C) var[r * C + c] = from_f32<T>(sq * inv_t);
  }
}

template <typename T, int kT, int kCPL>
__global__ void __launch_bounds__(32 * kWarpsPerBlock)
    pool_backward_kernel(const T* __restrict__ yt, const T* __restrict__ a, const T* __restrict__ dz,
                         const T* __restrict__ dvar, T* __restrict__ dyt, T* __restrict__ da, PoolArgs g) {
  extern __shared__ float4 smem4[];  // per warp: p[H][kT] then ds[H][kT]; float4 for aligned vector reads
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t r = blockIdx.x * (int64_t)kWarpsPerBlock + warp;
  if (r >= g.rows) return;  // whole warps exit together; only __syncwarp below
  const int C = g.channels, H = g.heads;
  float* sp = reinterpret_cast<float*>(smem4) + (int64_t)warp * 2 * H * kT;
  float* sds = sp + H * kT;
  float y[kT][kCPL];
  load_row(yt, r, g, lane, y);
  const int64_t head_stride = g.rows * C;  // a, z, dz, da: [H, R, C]
  // Pass 1: per head, p (recomputed) and ds[t] = p[t] (g[t] - D), g[t] = dz[h] . yt_t.
  for (int h = 0; h < H; ++h) {
    const int64_t off = h * head_stride + r * C;
    float av[kCPL], dzv[kCPL], p[kT], gt[kT];
    load_channels(a + off, C, lane, av);
    load_channels(dz + off, C, lane, dzv);
    warp_dots(av, y, g.frames, g.scale, p);
    softmax_frames(p, g.frames);
    warp_dots(dzv, y, g.frames, 1.f, gt);
    float D = 0.f;
#pragma unroll
    for (int t = 0; t < kT; ++t) D += p[t] * gt[t];
    if (lane == 0) {
#pragma unroll
      for (int t = 0; t < kT; ++t) {  // entries t >= T are 0 (p is)
        sp[h * kT + t] = p[t];
        sds[h * kT + t] = p[t] * (gt[t] - D);
      }
    }
  }
  __syncwarp();
  // Pass 2: for each channel of this lane, dyt over every frame and da of every head.
  const float inv_t = 1.f / g.frames;
#pragma unroll
  for (int k = 0; k < kCPL; ++k) {
    const int c = lane + 32 * k;
    if (c >= C) continue;  // no shuffles in pass 2: lanes may diverge
    float mean = 0.f;
#pragma unroll
    for (int t = 0; t < kT; ++t) mean += y[t][k];
    mean *= inv_t;
    const float gv = to_f32(dvar[r * C + c]) * 2.f * inv_t;
    float acc[kT];
#pragma unroll
    for (int t = 0; t < kT; ++t) acc[t] = gv * (y[t][k] - mean);
    for (int h = 0; h < H; ++h) {
      const int64_t o = h * head_stride + r * C + c;
      const float av = to_f32(a[o]) * g.scale, dzv = to_f32(dz[o]);
      const float4* p4 = reinterpret_cast<const float4*>(sp + h * kT);
      const float4* s4 = reinterpret_cast<const float4*>(sds + h * kT);
      float dacc = 0.f;
#pragma unroll
      for (int i = 0; i < kT / 4; ++i) {
        const float4 pv = p4[i], sv = s4[i];
        const float pt[4] = {pv.x, pv.y, pv.z, pv.w}, st[4] = {sv.x, sv.y, sv.z, sv.w};
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          acc[4 * i + j] += pt[j] * dzv + st[j] * av;
          dacc += st[j] * y[4 * i + j][k];
        }
      }
      da[o] = from_f32<T>(dacc * g.scale);
    }
    T* out = dyt + r * g.frames * C + c;
#pragma unroll
    for (int t = 0; t < kT; ++t)
      if (t < g.frames) out[(int64_t)t * C] = from_f32<T>(acc[t]);
  }
}

void check_shape(const TrajectoryPoolShape& s, const char* what) {
  if (!trajectory_pool_cuda_fits(s.frames, s.channels, s.heads))
    throw std::runtime_error(std::string(what) + ": need 1 <= H <= " + std::to_string(kTrajectoryPoolMaxHeads) +
                             " and T <= 8, C <= 512 or T <= 16, C <= 256 (T = " + std::to_string(s.frames) +
                             ", C = " + std::to_string(s.channels) + ", H = " + std::to_string(s.heads) + ")");
}

template <int N>
using Int = std::integral_constant<int, N>;

// Calls f(Int<kT>{}, Int<kCPL>{}) with the smallest register tile that holds T frames of C
// channels (kCPL channels a lane); trajectory_pool_cuda_fits has been checked.
template <typename F>
void with_tile(const TrajectoryPoolShape& s, F&& f) {
  const int64_t C = s.channels;
  if (s.frames <= 8) {
    if (C <= 128) f(Int<8>{}, Int<4>{});
    else if (C <= 256) f(Int<8>{}, Int<8>{});
    else if (C <= 384) f(Int<8>{}, Int<12>{});
    else f(Int<8>{}, Int<16>{});
  } else {
    if (C <= 128) f(Int<16>{}, Int<4>{});
    else f(Int<16>{}, Int<8>{});
  }
}

PoolArgs args(const TrajectoryPoolShape& s) {
  return {s.rows, (int)s.frames, (int)s.channels, (int)s.heads, (float)s.scale};
}
unsigned row_blocks(int64_t rows) { return (unsigned)((rows + kWarpsPerBlock - 1) / kWarpsPerBlock); }

template <typename T>
void forward(const void* yt, const void* a, void* z, void* var, const TrajectoryPoolShape& s, cudaStream_t st) {
  with_tile(s, [&](auto kt, auto cpl) {
    constexpr int kT = decltype(kt)::value, kCPL = decltype(cpl)::value;
    pool_forward_kernel<T, kT, kCPL><<<row_blocks(s.rows), 32 * kWarpsPerBlock, 0, st>>>(
        static_cast<const T*>(yt), static_cast<const T*>(a), static_cast<T*>(z), static_cast<T*>(var), args(s));
  });
}

template <typename T>
void backward(const void* yt, const void* a, const void* dz, const void* dvar, void* dyt, void* da,
              const TrajectoryPoolShape& s, cudaStream_t st) {
  with_tile(s, [&](auto kt, auto cpl) {
    constexpr int kT = decltype(kt)::value;
    // At most 4 warps x 2 x 64 heads x 16 frames x 4 bytes = 32 KiB, under the 48 KiB default.
    const size_t smem = sizeof(float) * kWarpsPerBlock * 2 * s.heads * kT;
    pool_backward_kernel<T, kT, decltype(cpl)::value><<<row_blocks(s.rows), 32 * kWarpsPerBlock, smem, st>>>(
        static_cast<const T*>(yt), static_cast<const T*>(a), static_cast<const T*>(dz), static_cast<const T*>(dvar),
        static_cast<T*>(dyt), static_cast<T*>(da), args(s));
  });
}

}  // namespace

void trajectory_pool_cuda(const void* yt, const void* a, void* z, void* var, bool bf16, const TrajectoryPoolShape& s,
                          void* stream) {
  check_shape(s, "trajectory_pool_cuda");
  if (s.rows == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  if (bf16) forward<__nv_bfloat16>(yt, a, z, var, s, st);
  else forward<float>(yt, a, z, var, s, st);
  cuda::check_launch("trajectory_pool_cuda");
}

void trajectory_pool_backward_cuda(const void* yt, const void* a, const void* dz, const void* dvar, void* dyt,
                                   void* da, bool bf16, const TrajectoryPoolShape& s, void* stream) {
  check_shape(s, "trajectory_pool_backward_cuda");
  if (s.rows == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  if (bf16) backward<__nv_bfloat16>(yt, a, dz, dvar, dyt, da, s, st);
  else backward<float>(yt, a, dz, dvar, dyt, da, s, st);
  cuda::check_launch("trajectory_pool_backward_cuda");
}

}  // namespace tats::kernels
