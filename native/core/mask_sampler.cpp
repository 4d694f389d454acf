#include "core/mask_sampler.h"

#include <mutex>

namespace tats::core {

namespace {
// Function-local static: safe to use from other files' static initialisers.
std::map<std::string, MaskSamplerFactory>& registry() {
  static std::map<std::string, MaskSamplerFactory> factories;
  return factories;
}
std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace

bool register_mask_sampler(const std::string& name, MaskSamplerFactory factory) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  registry()[name] = std::move(factory);
  return true;
}

std::vector<std::string> mask_sampler_names() {
  std::lock_guard<std::mutex> lock(registry_mutex());
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.first);
  return names;
}

std::unique_ptr<MaskSampler> make_mask_sampler(const SamplerContext& ctx) {
  MaskSamplerFactory factory;
  {
    std::lock_guard<std::mutex> lock(registry_mutex());
    const auto it = registry().find(ctx.config.masking.strategy);
    if (it != registry().end()) factory = it->second;
  }
  if (!factory) {
    std::string known;
    for (const auto& n : mask_sampler_names()) known += (known.empty() ? "" : ", ") + n;
    TORCH_CHECK(false, "masking strategy '", ctx.config.masking.strategy, "' is not built in; known: ", known);
  }
  return factory(ctx);
}

}  // namespace tats::core
