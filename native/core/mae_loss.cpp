#include "core/mae_loss.h"

#include "kernels/masked_mse_op.h"

namespace tats::core {

MaeLoss mae_loss(const torch::Tensor& pred, const torch::Tensor& targets, const torch::Tensor& masked) {
  // Gather of the masked targets + squared error + per-token mean in one pass (kernels/masked_mse).
  // Equal counts per clip, so the mean of per-token means is the MSE over all masked values.
  auto out = ops::masked_mse(pred, targets, masked);
  return {out.loss, out.err.detach()};
}

}  // namespace tats::core
