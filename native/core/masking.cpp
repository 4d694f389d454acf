#include "core/masking.h"

#include "core/distributed.h"

#include <algorithm>
#include <cmath>

namespace tats::core {

namespace {

int64_t clamp_count(int64_t n, int64_t total) { return std::min(std::max<int64_t>(n, 1), total - 1); }

torch::Tensor sorted(const torch::Tensor& t) { return std::get<0>(t.sort(/*dim=*/1)); }

// Splits a random permutation of 0..n-1 per row into its first k (ascending) and the rest; the
// uniforms are drawn for all shard.count * batch rows, the shard's rows are kept.
std::pair<torch::Tensor, torch::Tensor> split_permutation(int64_t batch, int64_t n, int64_t k, torch::Generator& gen,
                                                          const BatchShard& shard) {
  TORCH_CHECK(shard.count >= 1 && shard.index >= 0 && shard.index < shard.count, "masking: shard ", shard.index,
              " of ", shard.count, " is out of range");
  auto u = torch::rand({batch * shard.count, n}, gen);
  if (shard.count > 1) u = u.narrow(0, shard.index * batch, batch);
  const auto order = std::get<1>(u.sort(/*dim=*/1));
  return {sorted(order.narrow(1, 0, k)), sorted(order.narrow(1, k, n - k))};
}

}  // namespace

int64_t masked_count(const std::string& strategy, double ratio, const TokenGrid& grid) {
  TORCH_CHECK(ratio > 0.0 && ratio < 1.0, "masking: ratio must be in (0, 1), got ", ratio);
  if (strategy == "tube")
    return grid.slots * std::min(std::max<int64_t>(static_cast<int64_t>(ratio * grid.per_slot), 1), grid.per_slot - 1);
  if (strategy == "frame") {
    TORCH_CHECK(grid.slots >= 2, "masking: frame masking needs at least 2 frame slots, got ", grid.slots);
    return clamp_count(std::llround(ratio * grid.slots), grid.slots) * grid.per_slot;
  }
  return clamp_count(std::llround(ratio * grid.tokens()), grid.tokens());
}

MaskDraw draw_random(int64_t batch, double ratio, const TokenGrid& grid, torch::Generator& gen,
                    const BatchShard& shard) {
  const int64_t nm = masked_count("random", ratio, grid);
  auto [masked, visible] = split_permutation(batch, grid.tokens(), nm, gen, shard);
  return {visible, masked, {}, {}};
}

MaskDraw draw_tube(int64_t batch, double ratio, const TokenGrid& grid, torch::Generator& gen,
                    const BatchShard& shard) {
  const int64_t m = masked_count("tube", ratio, grid) / grid.slots;
  auto [pos_masked, pos_visible] = split_permutation(batch, grid.per_slot, m, gen, shard);
  // token = slot * S + position; slot-major with ascending positions stays ascending.
  const auto offsets = (torch::arange(grid.slots, torch::kLong) * grid.per_slot).view({1, grid.slots, 1});
  auto masked = (offsets + pos_masked.unsqueeze(1)).reshape({batch, -1});
  auto visible = (offsets + pos_visible.unsqueeze(1)).reshape({batch, -1});
  return {visible, masked, {}, {}};
}

MaskDraw draw_frame(int64_t batch, double ratio, const TokenGrid& grid, torch::Generator& gen,
                    const BatchShard& shard) {
  const int64_t k = masked_count("frame", ratio, grid) / grid.per_slot;
  auto [slots_masked, slots_visible] = split_permutation(batch, grid.slots, k, gen, shard);
  const auto within = torch::arange(grid.per_slot, torch::kLong).view({1, 1, grid.per_slot});
  auto masked = (slots_masked.unsqueeze(2) * grid.per_slot + within).reshape({batch, -1});
  auto visible = (slots_visible.unsqueeze(2) * grid.per_slot + within).reshape({batch, -1});
  return {visible, masked, {}, {}};
}

MaskDraw draw_from_mask(const torch::Tensor& mask) {
  TORCH_CHECK(mask.dim() == 2, "mask must be [B, N], got ", mask.sizes());
  const auto m = mask.to(torch::kCPU).ne(0);
  const int64_t B = m.size(0), N = m.size(1);
  const auto counts = m.sum(1);
  const int64_t nm = counts[0].item<int64_t>();
  TORCH_CHECK(counts.eq(nm).all().item<bool>(), "mask: every clip must mask the same number of tokens, got ",
              counts.min().item<int64_t>(), " to ", counts.max().item<int64_t>());
  TORCH_CHECK(nm >= 1 && nm < N, "mask: between 1 and N-1 tokens must be masked per clip, got ", nm, " of ", N);
  // nonzero() lists coordinates in row-major order: per clip, ascending token order.
  auto masked = torch::nonzero(m).select(1, 1).view({B, nm}).contiguous();
  auto visible = torch::nonzero(m.logical_not()).select(1, 1).view({B, N - nm}).contiguous();
  return {visible, masked, {}, {}};
}

torch::Tensor mask_from_draw(const torch::Tensor& masked, int64_t tokens) {
  auto mask = torch::zeros({masked.size(0), tokens}, masked.options().dtype(torch::kUInt8));
  return mask.scatter_(1, masked, 1);
}

namespace {

// The three fixed strategies behind the MaskSampler interface: draw on the CPU, then move.
class FixedSampler : public MaskSampler {
 public:
  using DrawFn = MaskDraw (*)(int64_t, double, const TokenGrid&, torch::Generator&, const BatchShard&);
  FixedSampler(const SamplerContext& ctx, DrawFn fn)
      : ratio_(ctx.config.masking.ratio), grid_(ctx.grid), device_(ctx.device), fn_(fn) {
    masked_count(ctx.config.masking.strategy, ratio_, grid_);  // validates the ratio and grid once
    if (ctx.group) shard_ = {ctx.group->rank(), ctx.group->world_size()};
  }
  MaskDraw sample(const torch::Tensor& tokens, int64_t batch, torch::Generator& gen) override {
    auto draw = fn_(batch, ratio_, grid_, gen, shard_);
    if (device_.is_cuda()) {
      // Pinned + non_blocking: the copy is queued on the stream without waiting for the host.
      draw.visible = draw.visible.pin_memory().to(device_, /*non_blocking=*/true);
      draw.masked = draw.masked.pin_memory().to(device_, /*non_blocking=*/true);
    } else {
      draw.visible = draw.visible.to(device_);
      draw.masked = draw.masked.to(device_);
    }
    return draw;
  }
  void to_device(const torch::Device& device) override { device_ = device; }

 private:
  double ratio_;
  TokenGrid grid_;
  torch::Device device_;
  DrawFn fn_;
  BatchShard shard_;
};

template <FixedSampler::DrawFn Fn>
std::unique_ptr<MaskSampler> make_fixed(const SamplerContext& ctx) {
  return std::make_unique<FixedSampler>(ctx, Fn);
}

[[maybe_unused]] const bool registered = register_mask_sampler("random", make_fixed<draw_random>) &&
                        register_mask_sampler("tube", make_fixed<draw_tube>) &&
                        register_mask_sampler("frame", make_fixed<draw_frame>);

}  // namespace

}  // namespace tats::core
