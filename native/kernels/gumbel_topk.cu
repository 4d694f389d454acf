// CUDA version of gumbel_topk.h: one block per row. The row's keys (double) and token indices sit
// in shared memory, padded to a power of two with -inf; a bitonic sort puts them in the reference's
// order (key desc, index asc); the first k are flagged; a block scan over the flags writes the
// masked and visible lists in ascending token order. N <= 4096: 12 bytes a slot, 48 KB at most.
// Cost: log2(Npad)^2/2 compare-exchange passes, each a __syncthreads; ~66 for N = 1568 (Npad 2048).
#include <cuda_runtime.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/counter_rng.h"
#include "kernels/cuda_util.cuh"
#include "kernels/gumbel_topk.h"

namespace tats::kernels {

namespace {

constexpr int kThreads = 512;

__device__ __forceinline__ bool before(double ka, int ia, double kb, int ib) {
  return ka > kb || (ka == kb && ia < ib);
}

__global__ void gumbel_topk_kernel(const float* __restrict__ logits, int64_t* __restrict__ masked,
                                   int64_t* __restrict__ visible, int n, int n_pad, int k, double tau,
                                   unsigned long long seed, unsigned long long offset,
                                   unsigned long long row_base, const int64_t* __restrict__ device_seed) {
  extern __shared__ unsigned char smem[];
  double* key = reinterpret_cast<double*>(smem);          // [n_pad]
  int* idx = reinterpret_cast<int*>(key + n_pad);          // [n_pad]
  __shared__ int counts[kThreads];
  const int row = blockIdx.x, tid = threadIdx.x;
  if (device_seed) seed += (unsigned long long)*device_seed;

  for (int i = tid; i < n_pad; i += blockDim.x) {
    if (i < n) {
      const double u = counter_uniform(counter_bits(seed, offset, row_base + (uint64_t)row, (uint64_t)i));
      key[i] = (double)logits[(size_t)row * n + i] / tau - log(-log(u));
    } else {
      key[i] = -INFINITY;
    }
    idx[i] = i;
  }
  __syncthreads();

  // Bitonic sort into "before" order (padding, -inf with the largest indices, sorts last).
  for (int size = 2; size <= n_pad; size <<= 1) {
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      for (int i = tid; i < n_pad; i += blockDim.x) {
        const int j = i ^ stride;
        if (j > i) {
          const double ki = key[i], kj = key[j];
          const int ii = idx[i], ij = idx[j];
          const bool forward = (i & size) == 0;
          const bool ordered = forward ? before(ki, ii, kj, ij) : before(kj, ij, ki, ii);
          if (!ordered) {
            key[i] = kj; key[j] = ki;
            idx[i] = ij; idx[j] = ii;
          }
        }
      }
      __syncthreads();
    }
  }

  // Flags by token index, written over the key array (no longer read).
  unsigned char* flag = smem;  // [n]
  int my_idx[ (4096 + kThreads - 1) / kThreads ];
  int count = 0;
  for (int r = tid; r < n_pad; r += blockDim.x) my_idx[count++] = idx[r];
  __syncthreads();
  count = 0;
  for (int r = tid; r < n_pad; r += blockDim.x) {
    const int i = my_idx[count++];
    if (i < n) flag[i] = r < k ? 1 : 0;
  }
  __syncthreads();

  // Each thread owns a contiguous chunk of tokens; an exclusive scan of its masked count gives
  // where its masked tokens start, and chunk start minus that where its visible ones start.
  const int chunk = (n + blockDim.x - 1) / blockDim.x;
  const int lo = min(n, tid * chunk), hi = min(n, lo + chunk);
  int mine = 0;
  for (int i = lo; i < hi; ++i) mine += flag[i];
  counts[tid] = mine;
  __syncthreads();
  if (tid == 0) {
    int run = 0;
    for (int t = 0; t < (int)blockDim.x; ++t) {
      const int c = counts[t];
      counts[t] = run;
      run += c;
    }
  }
  __syncthreads();
  int m = counts[tid], v = lo - counts[tid];
  int64_t* mrow = masked + (size_t)row * k;
  int64_t* vrow = visible + (size_t)row * (n - k);
  for (int i = lo; i < hi; ++i) {
    if (flag[i]) mrow[m++] = i;
    else vrow[v++] = i;
  }
}

}  // namespace

void gumbel_topk_cuda(const float* logits, int64_t* masked, int64_t* visible, const GumbelTopkShape& s,
                      const int64_t* device_seed, void* stream) {
  if (s.tokens < 1 || s.tokens > kGumbelTopkMaxTokens || s.k < 0 || s.k > s.tokens || !(s.tau > 0))
    throw std::runtime_error("gumbel_topk_cuda: need 1 <= N <= " + std::to_string(kGumbelTopkMaxTokens) +
                             ", 0 <= k <= N, tau > 0 (N = " + std::to_string(s.tokens) + ", k = " +
                             std::to_string(s.k) + ")");
  if (s.batch == 0) return;
  int n_pad = 1;
  while (n_pad < s.tokens) n_pad <<= 1;
  const size_t smem = (sizeof(double) + sizeof(int)) * n_pad;
  // Beyond 48 KB of static + dynamic shared memory a kernel must opt in (up to 227 KB on sm_90).
  if (smem + sizeof(int) * kThreads > 48 * 1024)
    cuda::check(cudaFuncSetAttribute(gumbel_topk_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem),
                "gumbel_topk_cuda (shared memory limit)");
  gumbel_topk_kernel<<<(unsigned)s.batch, kThreads, smem, static_cast<cudaStream_t>(stream)>>>(
      logits, masked, visible, (int)s.tokens, n_pad, (int)s.k, s.tau, s.seed, s.offset, s.row_base, device_seed);
  cuda::check_launch("gumbel_topk_cuda");
}

}  // namespace tats::kernels
