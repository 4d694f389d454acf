#include "core/sampler_state.h"

#include <algorithm>

namespace tats::core {

namespace {
const std::string kOptimPrefix = "optim.";
}  // namespace

NamedTensorList module_tensors(const torch::nn::Module& module) {
  NamedTensorList out;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) out.emplace_back(item.key(), item.value());
  return out;
}

void load_module_tensors(torch::nn::Module& module, const std::map<std::string, torch::Tensor>& entries, bool strict,
                         const std::vector<std::string>& extra, const char* where) {
  auto params = module.named_parameters(/*recurse=*/true);
  for (const auto& item : params) {
    const auto it = entries.find(item.key());
    if (it == entries.end()) {
      TORCH_CHECK(!strict, where, ": sampler weight '", item.key(), "' is missing");
      continue;
    }
    TORCH_CHECK(it->second.sizes() == item.value().sizes(), where, ": sampler weight '", item.key(), "' has shape ",
                it->second.sizes(), ", the sampler has ", item.value().sizes());
  }
  if (strict) {
    for (const auto& [name, t] : entries) {
      const bool known = params.contains(name) || std::find(extra.begin(), extra.end(), name) != extra.end();
      TORCH_CHECK(known, where, ": unknown sampler entry '", name, "'");
    }
  }
  torch::NoGradGuard no_grad;
  for (auto& item : params) {
    const auto it = entries.find(item.key());
    if (it != entries.end()) item.value().copy_(it->second);
  }
}

NamedTensorList optimizer_tensors(const MaeOptimizer& optimizer) {
  NamedTensorList out;
  for (auto& [name, t] : optimizer.state()) {
    const bool prefixed = name.rfind(kOptimPrefix, 0) == 0;
    out.emplace_back(prefixed ? name.substr(kOptimPrefix.size()) : name, t);
  }
  return out;
}

void load_optimizer_tensors(MaeOptimizer& optimizer, const std::map<std::string, torch::Tensor>& entries, bool strict) {
  std::map<std::string, torch::Tensor> prefixed;
  for (const auto& [name, t] : entries) prefixed[kOptimPrefix + name] = t;
  optimizer.load(prefixed, strict);
}

}  // namespace tats::core
