// Fixed masking strategies (VideoMAE's baselines), as index lists with fixed counts:
//   random: Nm = round(ratio * N) tokens, uniformly without replacement, per clip;
//   tube:   VideoMAE's TubeMaskingGenerator: m = int(ratio * S) of the S = (H/p)*(W/p) spatial
//           positions are masked in every frame slot (the same positions in all T/tt slots):
//           Nm = (T/tt) * m;
//   frame:  k = round(ratio * T/tt) whole frame slots masked: Nm = k * S.
// Every count is clamped so that at least one token is visible and one masked. Draws use the
// given CPU generator (rand + sort), so they are reproducible from the session seed.
#pragma once
#include <torch/torch.h>

#include "core/config.h"
#include "core/mask_sampler.h"

namespace tats::core {

// Number of masked tokens per clip for a fixed strategy (see above).
int64_t masked_count(const std::string& strategy, double ratio, const TokenGrid& grid);

// One rank's rows of a data-parallel global batch: rows [index * B, (index + 1) * B) of
// count * B. The default is the whole batch (a single process).
struct BatchShard {
  int64_t index = 0, count = 1;
};

// Draws [B, Nv] visible and [B, Nm] masked int64 index lists on the CPU, each ascending. With a
// shard, the generator draws the uniforms of the whole global batch (so it advances alike on every
// rank) and only the shard's rows are sorted: a rank gets exactly the rows one process drawing the
// global batch would give it.
MaskDraw draw_random(int64_t batch, double ratio, const TokenGrid& grid, torch::Generator& gen,
                     const BatchShard& shard = {});
MaskDraw draw_tube(int64_t batch, double ratio, const TokenGrid& grid, torch::Generator& gen,
                   const BatchShard& shard = {});
MaskDraw draw_frame(int64_t batch, double ratio, const TokenGrid& grid, torch::Generator& gen,
                    const BatchShard& shard = {});

// Index lists from an explicit uint8 mask [B, N] (1 = masked); every clip must mask the same
// number of tokens (checked; this reads the mask on the host, so keep it out of training steps).
MaskDraw draw_from_mask(const torch::Tensor& mask);

// [B, N] uint8 mask (1 = masked) from index lists.
torch::Tensor mask_from_draw(const torch::Tensor& masked, int64_t tokens);

}  // namespace tats::core
