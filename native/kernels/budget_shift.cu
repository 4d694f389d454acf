// CUDA version of budget_shift.h: one block per row runs the whole solve (33 passes over the row),
// in place of ~230 libtorch launches. Every thread holds the same lo / hi / c: each block reduction
// hands all threads the same total, so the branch on f(mid) > k is uniform and never diverges.
// fp64 throughout (--use_fast_math changes only fp32 maths: exp and division stay IEEE-accurate).
// Compile check: nvcc -std=c++17 -arch=sm_90 -c native/kernels/budget_shift.cu -I native -o /tmp/x.o
#include <cuda_runtime.h>

#include "kernels/budget_shift.h"
#include "kernels/cuda_util.cuh"

namespace tats::kernels {

namespace {

// 1568 tokens (a base clip) is ~6 per thread; rows are read from L1 after the first pass.
constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

__device__ __forceinline__ double to_f64(float v) { return static_cast<double>(v); }
__device__ __forceinline__ double to_f64(double v) { return v; }

__device__ __forceinline__ double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

// min / max that keep a NaN once seen (as libtorch's reductions and the reference do).
__device__ __forceinline__ double nan_min(double a, double b) { return (a < b || isnan(a)) ? a : b; }
__device__ __forceinline__ double nan_max(double a, double b) { return (a > b || isnan(a)) ? a : b; }

// Block reductions returned to every thread. `scratch` holds 2 * kWarps doubles; the leading
// __syncthreads protects it from the previous reduction's readers.
__device__ __forceinline__ void block_sum2(double& a, double& b, double* scratch) {
  for (int off = 16; off > 0; off >>= 1) {
    a += __shfl_xor_sync(0xffffffffu, a, off);
    b += __shfl_xor_sync(0xffffffffu, b, off);
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) {
    scratch[warp] = a;
    scratch[kWarps + warp] = b;
  }
  __syncthreads();
  a = 0.0;
  b = 0.0;
  for (int w = 0; w < kWarps; ++w) {  // the same order in every thread: the same totals
    a += scratch[w];
    b += scratch[kWarps + w];
  }
}

__device__ __forceinline__ double block_sum(double a, double* scratch) {
  double unused = 0.0;
  block_sum2(a, unused, scratch);
  return a;
}

__device__ __forceinline__ void block_min_max(double& mn, double& mx, double* scratch) {
  for (int off = 16; off > 0; off >>= 1) {
    mn = nan_min(mn, __shfl_xor_sync(0xffffffffu, mn, off));
    mx = nan_max(mx, __shfl_xor_sync(0xffffffffu, mx, off));
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) {
    scratch[warp] = mn;
    scratch[kWarps + warp] = mx;
  }
  __syncthreads();
  mn = scratch[0];
  mx = scratch[kWarps];
  for (int w = 1; w < kWarps; ++w) {
    mn = nan_min(mn, scratch[w]);
    mx = nan_max(mx, scratch[kWarps + w]);
  }
}

// s [B, N] (T = float or double) -> c [B]; grid B blocks of kThreads.
template <typename T>
__global__ void __launch_bounds__(kThreads) budget_shift_kernel(const T* __restrict__ s, double* __restrict__ c,
                                                                 int64_t N, double k) {
  __shared__ double scratch[2 * kWarps];
  const T* __restrict__ x = s + static_cast<int64_t>(blockIdx.x) * N;

  // N >= 2 > 0, so every thread with no element of its own still folds in x[0]: no identity needed.
  double mn = to_f64(x[0]), mx = mn;
  for (int64_t i = threadIdx.x; i < N; i += kThreads) {
    const double v = to_f64(x[i]);
    mn = nan_min(mn, v);
    mx = nan_max(mx, v);
  }
  block_min_max(mn, mx, scratch);

  double lo = mn - kBudgetBracket, hi = mx + kBudgetBracket;
  for (int it = 0; it < kBudgetBisections; ++it) {
    const double mid = (lo + hi) * 0.5;
    double f = 0.0;
    for (int64_t i = threadIdx.x; i < N; i += kThreads) f += sigmoid(to_f64(x[i]) - mid);
    f = block_sum(f, scratch);
    if (f > k) {
      lo = mid;
    } else {
      hi = mid;
    }
  }

  double cb = (lo + hi) * 0.5;
  for (int it = 0; it < kBudgetNewtonSteps; ++it) {
    double sum_q = 0.0, slope = 0.0;
    for (int64_t i = threadIdx.x; i < N; i += kThreads) {
      const double q = sigmoid(to_f64(x[i]) - cb);
      sum_q += q;
      slope += q * (1.0 - q);
    }
    block_sum2(sum_q, slope, scratch);
    slope = slope < kBudgetMinSlope ? kBudgetMinSlope : slope;  // NaN stays NaN
    const double next = cb + (sum_q - k) / slope;
    const double above_lo = lo > next ? lo : next;
    cb = hi < above_lo ? hi : above_lo;
  }
  if (threadIdx.x == 0) c[blockIdx.x] = cb;
}

}  // namespace

void budget_shift_cuda(const void* s, bool f64, double* c, const BudgetShiftShape& shape, void* stream) {
  if (shape.tokens < 2 || shape.k < 1 || shape.k >= shape.tokens)
    throw std::runtime_error("budget_shift_cuda: need N >= 2 and 1 <= k < N");
  if (shape.rows < 1) return;
  if (shape.rows > 0x7fffffff) throw std::runtime_error("budget_shift_cuda: at most 2^31 - 1 rows");
  const auto st = static_cast<cudaStream_t>(stream);
  const unsigned blocks = static_cast<unsigned>(shape.rows);
  const double k = static_cast<double>(shape.k);
  if (f64) {
    budget_shift_kernel<double><<<blocks, kThreads, 0, st>>>(static_cast<const double*>(s), c, shape.tokens, k);
  } else {
    budget_shift_kernel<float><<<blocks, kThreads, 0, st>>>(static_cast<const float*>(s), c, shape.tokens, k);
  }
  cuda::check_launch("budget_shift_cuda");
}

}  // namespace tats::kernels
