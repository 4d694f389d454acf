// Session's config at the native boundary: read from the resolved TypeScript config on the JS
// thread into a plain core::SessionConfig, then the ranges the core trusts checked.
#include "addon/session_config.h"

#include "addon/config_fields.h"
#include "addon/convert.h"
#include "addon/errors.h"
#include "addon/limits.h"

namespace tats::addon {

// Every field is required: defaults live in the TypeScript config.
core::SessionConfig read_session_config(const Napi::Object& c) {
  core::SessionConfig cfg;
  const Napi::Object m = get_object(c, "model", "config");
  cfg.model = read_model_config(m, /*decoder=*/true);
  const Napi::Object k = get_object(c, "masking", "config");
  cfg.masking.strategy = get_string(k, "strategy", "config.masking");
  cfg.masking.ratio = get_number(k, "ratio", "config.masking");
  const Napi::Object s = get_object(c, "sampler", "config");
  cfg.sampler.dim = get_int(s, "dim", "config.sampler");
  cfg.sampler.heads = get_int(s, "heads", "config.sampler");
  cfg.sampler.temperature = get_number(s, "temperature", "config.sampler");
  cfg.sampler.ppo_epochs = get_int(s, "ppoEpochs", "config.sampler");
  cfg.sampler.clip_eps = get_number(s, "clipEps", "config.sampler");
  cfg.sampler.value_coef = get_number(s, "valueCoef", "config.sampler");
  cfg.sampler.beta = get_number(s, "beta", "config.sampler");
  cfg.sampler.beta_start = get_number(s, "betaStart", "config.sampler");
  cfg.sampler.beta_steps = get_int(s, "betaSteps", "config.sampler");
  cfg.sampler.target_kl = get_number(s, "targetKl", "config.sampler");
  cfg.sampler.reward = get_string(s, "reward", "config.sampler");
  cfg.sampler.lr = get_number(s, "lr", "config.sampler");
  cfg.sampler.warmup_steps = get_int(s, "warmupSteps", "config.sampler");
  cfg.sampler.clip_grad = get_number(s, "clipGrad", "config.sampler");
  cfg.sampler.weight_decay = get_number(s, "weightDecay", "config.sampler");
  cfg.sampler.detach_input = get_bool(s, "detachInput", "config.sampler");
  cfg.sampler.exact_kl = get_bool(s, "exactKl", "config.sampler");
  cfg.sampler.adamae_weight = get_number(s, "adamaeWeight", "config.sampler");
  cfg.optim = read_optim_config(get_object(c, "optim", "config"));
  cfg.batch_size = get_int(c, "batchSize", "config");
  cfg.device = get_string(c, "device", "config");
  cfg.seed = get_int(c, "seed", "config");
  cfg.precision = get_string(c, "precision", "config");
  const Napi::Object r = get_object(c, "runtime", "config");
  cfg.runtime.graph = get_bool(r, "graph", "config.runtime");
  cfg.runtime.staging = get_bool(r, "staging", "config.runtime");
  cfg.runtime.sdpa = get_string(r, "sdpa", "config.runtime");
  cfg.runtime.layer_norm_bf16 = get_bool(r, "layerNormBf16", "config.runtime");
  cfg.runtime.legacy_adamw = get_bool(r, "legacyAdamw", "config.runtime");
  cfg.runtime.rollout_graph = get_bool(r, "rolloutGraph", "config.runtime");
  cfg.runtime.ppo_graph = get_bool(r, "ppoGraph", "config.runtime");
  // Optional (single process on device 0 when absent): lib/config always sets them.
  cfg.device_index = get_int_or(c, "deviceIndex", 0, "config");
  const Napi::Value dp = c.Get("dataParallel");
  if (!dp.IsUndefined()) cfg.data_parallel = get_bool(c, "dataParallel", "config");
  return cfg;
}

// The ranges the core trusts, checked before it divides or allocates (addon/limits.h).
void check_session_config(Napi::Env env, const core::SessionConfig& cfg) {
  check_model(env, cfg.model, /*decoder=*/true, "config.model", cfg.device, cfg.device_index);
  check_range(env, "config.batchSize", cfg.batch_size, 1, int64_t{1} << 20);
  // The sampler's counts drive loops (PPO epochs per step) and allocations: lib/config's ranges.
  check_range(env, "config.sampler.ppoEpochs", cfg.sampler.ppo_epochs, 1, 64);
  check_range(env, "config.sampler.dim", cfg.sampler.dim, 1, 16384);
  check_range(env, "config.sampler.heads", cfg.sampler.heads, 1, 256);
  check_range(env, "config.sampler.betaSteps", cfg.sampler.beta_steps, 0, 1000000000);
  check_range(env, "config.sampler.warmupSteps", cfg.sampler.warmup_steps, 0, 1000000000);
  const auto& reward = cfg.sampler.reward;
  if (reward != "error" && reward != "negError" && reward != "progress")
    throw_error(env, "ERR_INVALID_ARG",
                "config.sampler.reward must be 'error', 'negError' or 'progress', received '" + reward + "'");
  const auto& sdpa = cfg.runtime.sdpa;
  if (sdpa != "auto" && sdpa != "flash" && sdpa != "efficient" && sdpa != "cudnn" && sdpa != "math")
    throw_error(env, "ERR_INVALID_ARG",
                "config.runtime.sdpa must be 'auto', 'flash', 'efficient', 'cudnn' or 'math', received '" + sdpa + "'");
}

}  // namespace tats::addon
