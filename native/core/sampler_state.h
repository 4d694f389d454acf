// Checkpoint helpers shared by the learned mask samplers: a module's parameters and its own
// optimiser's state as flat named tensors (the session prefixes them with sampler. and
// sampler_optim.), and their strict or lenient restore.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/optim.h"

namespace tats::core {

using NamedTensorList = std::vector<std::pair<std::string, torch::Tensor>>;

NamedTensorList module_tensors(const torch::nn::Module& module);
// Copies entries into the module's parameters (shapes checked first). strict: every parameter
// present and no unknown name (names in `extra` are known too).
void load_module_tensors(torch::nn::Module& module, const std::map<std::string, torch::Tensor>& entries, bool strict,
                         const std::vector<std::string>& extra, const char* where);

// MaeOptimizer::state() without its "optim." prefix, and back.
NamedTensorList optimizer_tensors(const MaeOptimizer& optimizer);
void load_optimizer_tensors(MaeOptimizer& optimizer, const std::map<std::string, torch::Tensor>& entries, bool strict);

}  // namespace tats::core
