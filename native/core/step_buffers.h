// Reused buffers for the training step's clip upload: a pinned host staging buffer filled by a
// parallel memcpy from the caller's (pageable, zero-copy JS) bytes, then one non_blocking copy
// into a reused device buffer on the current stream. Nothing is allocated per step, and the
// device buffer's address is fixed (a captured CUDA graph reads it).
#pragma once
#include <torch/torch.h>

#include <string>

namespace tats::core {

class ClipUpload {
 public:
  // clips: uint8 CPU tensor (any shape, made contiguous). Returns the device copy, valid until
  // the next call; the copy is queued on the current stream (stream order makes it visible to
  // later work on that stream). The staging buffer is rewritten by the next call: callers must
  // have synchronised with the previous step first (the session's metrics read does).
  torch::Tensor upload(const torch::Tensor& clips, const torch::Device& device);
  // The device buffer of the last upload (undefined before the first).
  const torch::Tensor& device_buffer() const { return device_; }
  // Host time of the last upload's copy into the pinned buffer (printed by TATS_STEP_TIMING).
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
