#include "kernels/parity.h"

#include <sstream>

#include "kernels/adamw_op.h"
#include "kernels/budget_shift_op.h"
#include "kernels/counter_uniform_op.h"
#include "kernels/decoder_assemble_op.h"
#include "kernels/gather_visible_op.h"
#include "kernels/gumbel_topk_op.h"
#include "kernels/masked_mse_op.h"
#include "kernels/patchify_op.h"
#include "kernels/ppo_loss_op.h"
#include "kernels/trajectory_pool_op.h"

namespace tats::ops {

ParityReport compare(const std::string& kernel, const std::string& output, const torch::Tensor& got,
                     const torch::Tensor& want, double atol, double rtol) {
  TORCH_CHECK(got.sizes() == want.sizes(), kernel, "/", output, ": shape ", got.sizes(), " vs reference ",
              want.sizes());
  ParityReport r;
  r.kernel = kernel;
  r.output = output;
  r.dtype = std::string(c10::toString(got.scalar_type()));
  r.atol = atol;
  r.rtol = rtol;
  const auto a = got.detach().to(torch::kCPU, torch::kDouble).contiguous().view(-1);
  const auto b = want.detach().to(torch::kCPU, torch::kDouble).contiguous().view(-1);
  r.numel = a.numel();
  if (r.numel == 0) return r;
  const auto diff = (a - b).abs();
  r.max_abs_diff = diff.max().item<double>();
  r.max_rel_diff = (diff / b.abs().clamp_min(1e-12)).max().item<double>();
  const auto bad = diff > (atol + rtol * b.abs());
  r.mismatches = bad.sum().item<int64_t>();
  if (r.mismatches > 0) {
    const auto idx = bad.nonzero().view(-1).slice(0, 0, 5);
    std::ostringstream os;
    for (int64_t k = 0; k < idx.numel(); ++k) {
      const int64_t i = idx[k].item<int64_t>();
      os << (k ? "; " : "") << i << ": " << a[i].item<double>() << " vs " << b[i].item<double>();
    }
    r.first_mismatches = os.str();
  }
  return r;
}

const std::vector<std::pair<std::string, ParityFn>>& parity_registry() {
  static const std::vector<std::pair<std::string, ParityFn>> registry = {
      {"patchify", patchify_parity},
      {"gumbel_topk", gumbel_topk_parity},
      {"counter_uniform", counter_uniform_parity},
      {"masked_mse", masked_mse_parity},
      {"adamw", adamw_parity},
      {"gather_visible", gather_visible_parity},
      {"decoder_assemble", decoder_assemble_parity},
      {"ppo_loss", ppo_loss_parity},
      {"budget_shift", budget_shift_parity},
      {"trajectory_pool", trajectory_pool_parity},
  };
  return registry;
}

const std::vector<std::pair<std::string, ParityFn>>& check_registry() {
  static const std::vector<std::pair<std::string, ParityFn>> registry = {
      {"masked_mse", masked_mse_check},
      {"adamw", adamw_check},
      {"gather_visible", gather_visible_check},
      {"decoder_assemble", decoder_assemble_check},
      {"ppo_loss", ppo_loss_check},
      {"budget_shift", budget_shift_check},
      {"trajectory_pool", trajectory_pool_check},
  };
  return registry;
}

}  // namespace tats::ops
