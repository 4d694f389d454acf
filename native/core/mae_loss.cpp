#include "core/mae_loss.h"

#include "core/videomae.h"

namespace tats::core {

MaeLoss mae_loss(const torch::Tensor& pred, const torch::Tensor& targets, const torch::Tensor& masked) {
  const auto target = take_tokens(targets, masked);
  const auto per_token = (pred.to(torch::kFloat) - target).pow(2).mean(/*dim=*/-1);
  // Equal counts per clip, so the mean of per-token means is the MSE over all masked values.
  return {per_token.mean(), per_token.detach()};
}

}  // namespace tats::core
