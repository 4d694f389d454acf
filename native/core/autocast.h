// bf16 autocast for CUDA in this thread for the guard's lifetime (autocast state is thread-local,
// and async calls run on pool threads, so every call sets it). cache = false turns autocast's
// weight-cast cache off for the scope (required while capturing a CUDA graph: cached casts made
// during capture would be freed into the graph's pool; libtorch >= 2 only, ignored before).
#pragma once
#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace tats::core {

class AutocastScope {
 public:
  explicit AutocastScope(bool enabled, bool cache = true) : enabled_(enabled) {
    if (!enabled_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    prev_enabled_ = at::autocast::is_autocast_enabled(at::kCUDA);
    prev_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
    at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
#else
    prev_enabled_ = at::autocast::is_enabled();
    prev_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_enabled(true);
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
#endif
#if TORCH_VERSION_MAJOR >= 2
    prev_cache_ = at::autocast::is_autocast_cache_enabled();
    at::autocast::set_autocast_cache_enabled(cache);
#else
    (void)cache;
#endif
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (!enabled_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if TORCH_VERSION_MAJOR >= 2
    at::autocast::set_autocast_cache_enabled(prev_cache_);
#endif
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(at::kCUDA, prev_enabled_);
    at::autocast::set_autocast_dtype(at::kCUDA, prev_dtype_);
#else
    at::autocast::set_enabled(prev_enabled_);
    at::autocast::set_autocast_gpu_dtype(prev_dtype_);
#endif
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool enabled_;
  bool prev_enabled_ = false;
  bool prev_cache_ = true;
  at::ScalarType prev_dtype_ = at::kBFloat16;
};

}  // namespace tats::core
