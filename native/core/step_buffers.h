// Reused buffers for the training step's clip upload: the clips in pinned host memory (the
// caller's, when it already pinned them: the addon copies JS bytes straight into a pinned buffer;
// otherwise a pinned staging buffer filled by parallel_copy), then one non_blocking copy into a
// reused device buffer on the current stream. Nothing is allocated per step, and the device
// buffer's address is fixed (a captured CUDA graph reads it).
#pragma once
#include <torch/torch.h>

#include <string>

namespace tats::core {

// memcpy of `bytes` split over threads of its own (4 MB at least each, at most 16): a 77 MB clip
// batch (ViT-B, batch 32) at one thread's ~6 GB/s cost ~13 ms per step on the GPU machine, with
// the GPU idle meanwhile; at::parallel_for called from the addon's threads ran at that one-thread
// rate (bench/records/2026-11-24-gpu-final.md, 2026-12-07-speed-h200).
void parallel_copy(void* dst, const void* src, int64_t bytes);

class ClipUpload {
 public:
  // clips: uint8 CPU tensor (any shape, made contiguous). Returns the device copy, valid until
  // the next call; the copy is queued on the current stream (stream order makes it visible to
  // later work on that stream). Pinned clips are copied from directly; pageable ones through the
  // staging buffer. Either host buffer must stay unchanged until the copy is done: callers
  // synchronise with the previous step before writing it again (the session's metrics read does).
  torch::Tensor upload(const torch::Tensor& clips, const torch::Device& device);
  // The device buffer of the last upload (undefined before the first).
  const torch::Tensor& device_buffer() const { return device_; }
  // Host time of the last upload's copy into the pinned buffer, 0 when the clips came pinned
  // (printed by TATS_STEP_TIMING).
  double last_copy_ms() const { return last_copy_ms_; }

 private:
  torch::Tensor host_, device_;
  double last_copy_ms_ = 0;
};

// runtime.sdpa = flash | efficient | cudnn | math: only that scaled-dot-product-attention backend
// (process-wide libtorch flags; libtorch >= 2.5; before that, nothing is touched); auto: restores
// the flags found before the first choice (nothing is touched when no choice was made yet).
void configure_sdpa(const std::string& choice);

}  // namespace tats::core
