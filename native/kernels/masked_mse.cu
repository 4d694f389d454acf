// CUDA version of masked_mse.h. Errors: one block per masked token reads its pred row and the
// gathered target row once (P = 1536: 12 KB in for fp32 pred, 4 bytes out). Loss: one block sums
// the B*Nm errors in a fixed order, so repeated runs agree bit for bit. Backward: one block per
// masked token writes dpred (read 2 rows, write 1).
#include <cuda_runtime.h>

#include "kernels/cuda_util.cuh"
#include "kernels/masked_mse.h"

namespace tats::kernels {

namespace {

using cuda::from_f32;
using cuda::to_f32;

constexpr int kThreads = 256;
constexpr int kLossThreads = 1024;

template <typename PredT>
__global__ void masked_mse_err_kernel(const PredT* __restrict__ pred, const float* __restrict__ target,
                                      const int64_t* __restrict__ idx, float* __restrict__ err, int n_tokens,
                                      int n_masked, int P) {
  __shared__ float scratch[32];
  const int row = blockIdx.x;  // b * Nm + j
  const int b = row / n_masked;
  const PredT* p = pred + (size_t)row * P;
  const float* t = target + ((size_t)b * n_tokens + idx[row]) * P;
  float sq = 0.f;
  for (int q = threadIdx.x; q < P; q += blockDim.x) {
    const float d = to_f32(p[q]) - t[q];
    sq += d * d;
  }
  sq = cuda::block_sum(sq, scratch);
  if (threadIdx.x == 0) err[row] = sq / P;
}

__global__ void mean_kernel(const float* __restrict__ err, float* __restrict__ loss, int rows) {
  __shared__ float scratch[32];
  float s = 0.f;
  for (int i = threadIdx.x; i < rows; i += blockDim.x) s += err[i];
  s = cuda::block_sum(s, scratch);
  if (threadIdx.x == 0) *loss = s / rows;
}

template <typename PredT>
__global__ void masked_mse_backward_kernel(const PredT* __restrict__ pred, const float* __restrict__ target,
                                           const int64_t* __restrict__ idx, const float* __restrict__ g_loss,
                                           const float* __restrict__ g_err, PredT* __restrict__ dpred,
                                           int n_tokens, int n_masked, int rows, int P) {
  const int row = blockIdx.x;
  const int b = row / n_masked;
  const float gl = g_loss ? *g_loss / rows : 0.f;
  const float scale = 2.f / P * (gl + (g_err ? g_err[row] : 0.f));
  const PredT* p = pred + (size_t)row * P;
  const float* t = target + ((size_t)b * n_tokens + idx[row]) * P;
  PredT* d = dpred + (size_t)row * P;
  for (int q = threadIdx.x; q < P; q += blockDim.x) d[q] = from_f32<PredT>(scale * (to_f32(p[q]) - t[q]));
}

}  // namespace

void masked_mse_cuda(const void* pred, bool pred_bf16, const float* target, const int64_t* idx, float* err,
                     float* loss, const MaskedMseShape& s, void* stream) {
  const int rows = (int)(s.batch * s.masked);
  if (rows == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  if (pred_bf16)
    masked_mse_err_kernel<<<rows, kThreads, 0, st>>>(static_cast<const __nv_bfloat16*>(pred), target, idx, err,
                                                     (int)s.tokens, (int)s.masked, (int)s.values);
  else
    masked_mse_err_kernel<<<rows, kThreads, 0, st>>>(static_cast<const float*>(pred), target, idx, err,
                                                     (int)s.tokens, (int)s.masked, (int)s.values);
  cuda::check_launch("masked_mse_cuda (errors)");
  if (loss) {
    mean_kernel<<<1, kLossThreads, 0, st>>>(err, loss, rows);
    cuda::check_launch("masked_mse_cuda (loss)");
  }
}

void masked_mse_backward_cuda(const void* pred, bool pred_bf16, const float* target, const int64_t* idx,
                              const float* g_loss, const float* g_err, void* dpred, const MaskedMseShape& s,
                              void* stream) {
  const int rows = (int)(s.batch * s.masked);
  if (rows == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  if (pred_bf16)
    masked_mse_backward_kernel<<<rows, kThreads, 0, st>>>(static_cast<const __nv_bfloat16*>(pred), target, idx,
                                                          g_loss, g_err, static_cast<__nv_bfloat16*>(dpred),
                                                          (int)s.tokens, (int)s.masked, rows, (int)s.values);
  else
    masked_mse_backward_kernel<<<rows, kThreads, 0, st>>>(static_cast<const float*>(pred), target, idx, g_loss,
                                                          g_err, static_cast<float*>(dpred), (int)s.tokens,
                                                          (int)s.masked, rows, (int)s.values);
  cuda::check_launch("masked_mse_backward_cuda");
}

}  // namespace tats::kernels
