// What the session's files share (session.cpp, train_step.cpp): not part of the session's API.
#pragma once
#include <c10/core/DeviceGuard.h>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace tats::core::detail {

// The session's CUDA device as the current one for the calling thread (our kernels launch on the
// current device's stream), restored on scope exit; nothing on CPU.
struct SessionDeviceGuard {
  explicit SessionDeviceGuard(const torch::Device& d) {
    if (d.is_cuda()) guard.reset_device(d);
  }
  c10::OptionalDeviceGuard guard;
};

// Motion telemetry as 0-d tensors: share of masked tokens that move, share of all tokens that move.
inline void motion_shares(const torch::Tensor& motion, const torch::Tensor& masked, std::vector<std::string>& names,
                          std::vector<torch::Tensor>& values) {
  const auto m = motion.to(masked.device()).ne(0).to(torch::kFloat);
  names.emplace_back("maskedMovingShare");
  values.push_back(torch::gather(m, 1, masked).mean());
  names.emplace_back("movingShare");
  values.push_back(m.mean());
}

// One device->host copy for every scalar of a step.
inline std::vector<double> read_scalars(const std::vector<torch::Tensor>& values) {
  std::vector<torch::Tensor> flat;
  for (const auto& v : values) flat.push_back(v.detach().to(torch::kDouble).reshape({-1}));
  const auto host = torch::cat(flat).to(torch::kCPU).contiguous();
  const double* p = host.data_ptr<double>();
  return std::vector<double>(p, p + host.numel());
}

}  // namespace tats::core::detail
