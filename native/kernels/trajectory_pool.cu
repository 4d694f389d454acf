// CUDA version of trajectory_pool.h.
// One block of four warps per row (token). The row's channels come in chunks of 32; warp w takes
// chunks w, w+4, w+8, ..., lane l channel l of each, and holds those channels of all T frames of
// the trajectory row in registers (y[kT][kCPL], compile-time sized so it stays in registers: the
// smallest of the instantiations below that holds T frames of its quarter of C). Four warps a row,
// rather than one, cut the registers a thread needs (backward, T 8, C 384: 96 against 176), so
// that more rows are resident to hide the loads' latency: one warp a row ran the H100's backward
// at 3.5 ms for 50k rows, several times slower than its traffic needs.
// Per head, each warp sums its share of the T logits (and, backward, of g[t]) by warp shuffles,
// all T (2T) at once by recursive halving (warp_sums: 9 shuffles for T = 8 rather than 40); the
// shares meet in shared memory (one __syncthreads a head, double-buffered by head parity). The next
// head's inputs are loaded while a head is computed.
// Forward traffic per row: T*C + H*C elements in, H*C + C out (the [T, 2C] keys and values the
// unfactored stage read and wrote are gone).
// Backward, one pass over the heads: p and ds of head h, then its da[h] and its share of dyt,
// accumulated in registers (acc[kT][kCPL]); dyt is written once, after the last head.
// Traffic per row: T*C + 2*H*C + C in, T*C + H*C out.
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

constexpr int kWarpsPerRow = 4;  // a block is one row

struct PoolArgs {
  int64_t rows;
  int frames, channels, heads;
  float scale;
};

// This lane's channel of its warp's k-th chunk: chunk w + 2k, channel 32 * chunk + lane.
__device__ __forceinline__ int channel_of(int warp, int lane, int k) { return 32 * (warp + kWarpsPerRow * k) + lane; }

// y[t][k] = yt[r, t, channel_of(k)]; 0 for t >= T or a channel >= C (so padded terms add nothing).
template <int kT, int kCPL, typename T>
__device__ __forceinline__ void load_row(const T* __restrict__ yt, int64_t r, const PoolArgs& g, int warp, int lane,
                                         float (&y)[kT][kCPL]) {
  const T* row = yt + r * g.frames * g.channels;
#pragma unroll
  for (int t = 0; t < kT; ++t)
#pragma unroll
    for (int k = 0; k < kCPL; ++k) {
      const int c = channel_of(warp, lane, k);
      y[t][k] = (t < g.frames && c < g.channels) ? to_f32(row[(int64_t)t * g.channels + c]) : 0.f;
    }
}

// v[k] = src[channel_of(k)], 0 past the channels.
template <int kCPL, typename T>
__device__ __forceinline__ void load_channels(const T* __restrict__ src, int channels, int warp, int lane,
                                              float (&v)[kCPL]) {
#pragma unroll
  for (int k = 0; k < kCPL; ++k) {
    const int c = channel_of(warp, lane, k);
    v[k] = c < channels ? to_f32(src[c]) : 0.f;
  }
}

// out[t] = v . y[t] over this lane's channels: the lane's share, summed over the row by join_warps.
template <int kT, int kCPL>
__device__ __forceinline__ void lane_dots(const float (&v)[kCPL], const float (&y)[kT][kCPL], float (&out)[kT]) {
#pragma unroll
  for (int t = 0; t < kT; ++t) {
    float acc = 0.f;
#pragma unroll
    for (int k = 0; k < kCPL; ++k) acc += v[k] * y[t][k];
    out[t] = acc;
  }
}

// kN values (a power of two, at most 32) summed over the warp by recursive halving: at each step a
// lane keeps one half of its values and trades the other half with the lane across (xor), so the
// kN sums take kN - 1 + log2(32 / kN) shuffles rather than 5 kN. Returns the total of value
// lane / (32 / kN); x is left as scratch.
template <int kN>
__device__ __forceinline__ float warp_sums(float (&x)[kN], int lane) {
  static_assert(kN >= 1 && kN <= 32 && (kN & (kN - 1)) == 0, "kN must be a power of two <= 32");
#pragma unroll
  for (int bit = 16; bit >= 32 / kN; bit /= 2) {
    const int half = kN * bit / 32;
    const bool upper = lane & bit;  // keeps values [half, 2 half) of the current 2 half
#pragma unroll
    for (int i = 0; i < half; ++i) {
      const float keep = upper ? x[half + i] : x[i];
      const float give = upper ? x[i] : x[half + i];
      x[i] = keep + __shfl_xor_sync(0xffffffffu, give, bit);
    }
  }
  float v = x[0];
#pragma unroll
  for (int bit = 16 / kN; bit >= 1; bit /= 2) v += __shfl_xor_sync(0xffffffffu, v, bit);
  return v;
}

// The row's lanes' shares of kN sums meet: every thread gets x[i] summed over the row's four warps.
// slot: this head's [kWarpsPerRow][kN] floats of shared memory (the caller alternates two slots, so
// one barrier a call suffices: a slot is written again only after the next call's barrier).
template <int kN>
__device__ __forceinline__ void join_warps(float (&x)[kN], float* slot, int warp, int lane) {
  constexpr int kLanesPerValue = 32 / kN;
  const float v = warp_sums(x, lane);
  if (lane % kLanesPerValue == 0) slot[warp * kN + lane / kLanesPerValue] = v;
  __syncthreads();
#pragma unroll
  for (int i = 0; i < kN; ++i) {
    float sum = 0.f;
#pragma unroll
    for (int w = 0; w < kWarpsPerRow; ++w) sum += slot[w * kN + i];
    x[i] = sum;
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
__global__ void __launch_bounds__(32 * kWarpsPerRow)
    pool_forward_kernel(const T* __restrict__ yt, const T* __restrict__ a, T* __restrict__ z, T* __restrict__ var,
                        PoolArgs g) {
  __shared__ float slots[2][kWarpsPerRow * kT];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t r = blockIdx.x;  // one row a block: every thread reaches every barrier
  const int C = g.channels;
  const int64_t head_stride = g.rows * C;  // a, z: [H, R, C]
  // Head h + 1's query is loaded while head h is computed (prefetch), so the loads of a head no
  // longer wait for the previous head's reduction and barrier: one latency a row, not H.
  float y[kT][kCPL], an[kCPL];
  load_channels(a + r * C, C, warp, lane, an);
  load_row(yt, r, g, warp, lane, y);
  for (int h = 0; h < g.heads; ++h) {
    const int64_t off = h * head_stride + r * C;
    float av[kCPL], p[kT];
#pragma unroll
    for (int k = 0; k < kCPL; ++k) av[k] = an[k];
    if (h + 1 < g.heads) load_channels(a + off + head_stride, C, warp, lane, an);
    lane_dots(av, y, p);
    join_warps(p, slots[h & 1], warp, lane);
#pragma unroll
    for (int t = 0; t < kT; ++t) p[t] *= g.scale;
    softmax_frames(p, g.frames);
#pragma unroll
    for (int k = 0; k < kCPL; ++k) {
      const int c = channel_of(warp, lane, k);
      float acc = 0.f;
#pragma unroll
      for (int t = 0; t < kT; ++t) acc += p[t] * y[t][k];
      if (c < C) z[off + c] = from_f32<T>(acc);
    }
  }
  const float inv_t = 1.f / g.frames;
#pragma unroll
  for (int k = 0; k < kCPL; ++k) {
    const int c = channel_of(warp, lane, k);
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
__global__ void __launch_bounds__(32 * kWarpsPerRow)
    pool_backward_kernel(const T* __restrict__ yt, const T* __restrict__ a, const T* __restrict__ dz,
                         const T* __restrict__ dvar, T* __restrict__ dyt, T* __restrict__ da, PoolArgs g) {
  __shared__ float slots[2][kWarpsPerRow * 2 * kT];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t r = blockIdx.x;  // one row a block: every thread reaches every barrier
  const int C = g.channels;
  const int64_t head_stride = g.rows * C;  // a, z, dz, da: [H, R, C]
  // As in the forward: head h + 1's a and dz are loaded while head h is computed.
  float y[kT][kCPL], acc[kT][kCPL], an[kCPL], dzn[kCPL];
  load_channels(a + r * C, C, warp, lane, an);
  load_channels(dz + r * C, C, warp, lane, dzn);
  load_row(yt, r, g, warp, lane, y);
#pragma unroll
  for (int t = 0; t < kT; ++t)
#pragma unroll
    for (int k = 0; k < kCPL; ++k) acc[t][k] = 0.f;
  for (int h = 0; h < g.heads; ++h) {
    const int64_t off = h * head_stride + r * C;
    float av[kCPL], dzv[kCPL], sg[2 * kT];  // sg: the logits s[t], then g[t] = dz[h] . yt_t
#pragma unroll
    for (int k = 0; k < kCPL; ++k) {
      av[k] = an[k];
      dzv[k] = dzn[k];
    }
    if (h + 1 < g.heads) {
      load_channels(a + off + head_stride, C, warp, lane, an);
      load_channels(dz + off + head_stride, C, warp, lane, dzn);
    }
    {
      float s[kT], gt[kT];
      lane_dots(av, y, s);
      lane_dots(dzv, y, gt);
#pragma unroll
      for (int t = 0; t < kT; ++t) {
        sg[t] = s[t];
        sg[kT + t] = gt[t];
      }
    }
    join_warps(sg, slots[h & 1], warp, lane);
    float p[kT], ds[kT];
#pragma unroll
    for (int t = 0; t < kT; ++t) p[t] = sg[t] * g.scale;
    softmax_frames(p, g.frames);  // entries t >= T are 0, and so are their ds
    float D = 0.f;
#pragma unroll
    for (int t = 0; t < kT; ++t) D += p[t] * sg[kT + t];
#pragma unroll
    for (int t = 0; t < kT; ++t) ds[t] = p[t] * (sg[kT + t] - D) * g.scale;
    // da[h] = scale sum_t ds y_t; dyt_t += p[t] dz[h] + scale ds[t] a[h] (scale is inside ds here).
#pragma unroll
    for (int k = 0; k < kCPL; ++k) {
      const int c = channel_of(warp, lane, k);
      float dacc = 0.f;
#pragma unroll
      for (int t = 0; t < kT; ++t) {
        dacc += ds[t] * y[t][k];
        acc[t][k] += p[t] * dzv[k] + ds[t] * av[k];
      }
      if (c < C) da[off + c] = from_f32<T>(dacc);
    }
  }
  const float inv_t = 1.f / g.frames;
#pragma unroll
  for (int k = 0; k < kCPL; ++k) {
    const int c = channel_of(warp, lane, k);
    if (c >= C) continue;
    float mean = 0.f;
#pragma unroll
    for (int t = 0; t < kT; ++t) mean += y[t][k];
    mean *= inv_t;
    const float gv = to_f32(dvar[r * C + c]) * 2.f * inv_t;
    T* out = dyt + r * g.frames * C + c;
#pragma unroll
    for (int t = 0; t < kT; ++t)
      if (t < g.frames) out[(int64_t)t * C] = from_f32<T>(acc[t][k] + gv * (y[t][k] - mean));
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

// Calls f(Int<kT>{}, Int<kCPL>{}) with the smallest register tile that holds T frames of a warp's
// half of C (kCPL chunks of 32 channels a warp); trajectory_pool_cuda_fits has been checked.
template <typename F>
void with_tile(const TrajectoryPoolShape& s, F&& f) {
  const int64_t C = s.channels;
  if (s.frames <= 8) {
    if (C <= 128) f(Int<8>{}, Int<1>{});
    else if (C <= 256) f(Int<8>{}, Int<2>{});
    else if (C <= 384) f(Int<8>{}, Int<3>{});
    else f(Int<8>{}, Int<4>{});
  } else {
    if (C <= 128) f(Int<16>{}, Int<1>{});
    else f(Int<16>{}, Int<2>{});
  }
}

PoolArgs args(const TrajectoryPoolShape& s) {
  return {s.rows, (int)s.frames, (int)s.channels, (int)s.heads, (float)s.scale};
}

template <typename T>
void forward(const void* yt, const void* a, void* z, void* var, const TrajectoryPoolShape& s, cudaStream_t st) {
  with_tile(s, [&](auto kt, auto cpl) {
    constexpr int kT = decltype(kt)::value, kCPL = decltype(cpl)::value;
    pool_forward_kernel<T, kT, kCPL><<<(unsigned)s.rows, 32 * kWarpsPerRow, 0, st>>>(
        static_cast<const T*>(yt), static_cast<const T*>(a), static_cast<T*>(z), static_cast<T*>(var), args(s));
  });
}

template <typename T>
void backward(const void* yt, const void* a, const void* dz, const void* dvar, void* dyt, void* da,
              const TrajectoryPoolShape& s, cudaStream_t st) {
  with_tile(s, [&](auto kt, auto cpl) {
    constexpr int kT = decltype(kt)::value, kCPL = decltype(cpl)::value;
    pool_backward_kernel<T, kT, kCPL><<<(unsigned)s.rows, 32 * kWarpsPerRow, 0, st>>>(
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
