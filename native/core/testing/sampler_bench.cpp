#include "core/testing/sampler_bench.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "core/gumbel_topk.h"
#include "core/masking.h"
#include "core/ppo.h"
#include "core/autocast.h"
#include "core/vit.h"
#ifdef TATS_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace tats::core::testing {

namespace {

constexpr int64_t kWarmupSteps = 2;

void sync(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

}  // namespace

SamplerBenchResult sampler_bench(const SamplerBenchOptions& o, const torch::Device& device) {
  TORCH_CHECK(o.steps > kWarmupSteps, "sampler_bench: steps must be > ", kWarmupSteps);
  TORCH_CHECK(!o.bf16 || device.is_cuda(), "sampler_bench: bf16 needs a CUDA device");
  const int64_t N = o.slots * o.per_slot;
  TatsSamplerOptions so;
  so.input_dim = o.input_dim, so.dim = o.dim, so.heads = o.heads, so.tokens = N, so.frames = o.slots;
  TatsSampler sampler(so);
  sampler->to(device);
  PpoOptions po;
  po.epochs = o.epochs, po.clip_eps = 0.2, po.value_coef = 0.5, po.temperature = 1.0;
  po.beta = 1.0, po.beta_start = 1.0;
  po.target_kl = 1e9;  // every epoch's step is taken: the cost of a full update, whatever the KL
  po.lr = 1e-4, po.clip_grad = 1.0, po.weight_decay = 0.05;
  const int64_t M = masked_count("tats", o.ratio, TokenGrid{o.slots, o.per_slot});
  PpoTrainer ppo(sampler, po, M);
  ppo.set_autocast(o.bf16);
  ppo.set_graph(o.graph);
  // The sampler's LayerNorms as a pretraining session runs them with runtime.layerNormBf16 on (its
  // default): on bf16 input under bf16 autocast (vit.h).
  const LayerNormBf16Scope ln_bf16(/*enabled=*/true);
  auto gen = make_generator(torch::kCPU, 0);
  const auto x = torch::randn({o.batch, N, o.input_dim}, torch::TensorOptions().device(device));
  const auto rewards = torch::rand({o.batch, M}, torch::TensorOptions().device(device));
#ifdef TATS_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index() < 0 ? 0 : device.index());
#endif
  std::vector<double> act_ms, update_ms;
  for (int64_t step = 0; step < o.steps; ++step) {
    sync(device);
    const auto t0 = std::chrono::steady_clock::now();
    PpoRollout rollout;
    {
      AutocastScope autocast(o.bf16);
      rollout = ppo.act(x, gen, nullptr, /*keep_graph=*/!ppo.graphs_next_update());
    }
    sync(device);
    const auto t1 = std::chrono::steady_clock::now();
    ppo.update(rollout, rewards);
    sync(device);
    const auto t2 = std::chrono::steady_clock::now();
    if (step >= kWarmupSteps) {
      act_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      update_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    }
  }
  SamplerBenchResult r;
  r.act_ms = median(act_ms);
  r.update_ms = median(update_ms);
#ifdef TATS_WITH_CUDA
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index() < 0 ? 0 : device.index());
    r.peak_mib = static_cast<double>(stats.allocated_bytes[0].peak) / (1024.0 * 1024.0);
  }
#endif
  return r;
}

}  // namespace tats::core::testing
