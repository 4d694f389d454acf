// Masked MSE with per-token errors, fusing the gather of the masked tokens' targets.
//
// Layout (contiguous, row-major):
//   pred    [B, Nm, P]  fp32 (CPU, CUDA) or bf16 (CUDA)   decoder output for the masked tokens
//   target  [B, N, P]   fp32                               all tokens' targets (patchify's)
//   idx     [B, Nm]     int64                              masked token of each pred row, in [0, N)
//   err     [B, Nm]     fp32   e[b,j] = mean_p (pred[b,j,p] - target[b, idx[b,j], p])^2
//   loss    [1]         fp32   mean of e over the B*Nm rows (= the MSE over masked tokens)
// Backward, given g_loss (scalar, may be null = 0) and g_err [B, Nm] (may be null = 0):
//   dpred[b,j,p] = 2 (pred - target[idx]) / P * (g_loss / (B*Nm) + g_err[b,j]), dtype of pred.
// Computation is fp32 whatever the storage. Preconditions: B, Nm, P >= 1; idx in range.
#pragma once
#include <cstdint>

namespace tats::kernels {

struct MaskedMseShape {
  int64_t batch, tokens, masked, values;  // B, N, Nm, P
};

void masked_mse_cpu(const float* pred, const float* target, const int64_t* idx, float* err, float* loss,
                    const MaskedMseShape& s);
void masked_mse_backward_cpu(const float* pred, const float* target, const int64_t* idx, const float* g_loss,
                             const float* g_err, float* dpred, const MaskedMseShape& s);

#ifdef TATS_WITH_CUDA
// One block per masked token for the errors, one block for the loss (deterministic order).
// g_loss is a device pointer (no host sync). pred/dpred are bf16 when pred_bf16.
void masked_mse_cuda(const void* pred, bool pred_bf16, const float* target, const int64_t* idx, float* err,
                     float* loss, const MaskedMseShape& s, void* stream);
void masked_mse_backward_cuda(const void* pred, bool pred_bf16, const float* target, const int64_t* idx,
                              const float* g_loss, const float* g_err, void* dpred, const MaskedMseShape& s,
                              void* stream);
#endif

}  // namespace tats::kernels
