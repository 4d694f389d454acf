#include "core/step_trace.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/autograd/profiler_kineto.h>
#endif

namespace tats::core {

namespace {

int64_t traced_step() {
  const char* s = std::getenv("TATS_TRACE_STEP");
  if (!s || !*s) return 3;
  char* end = nullptr;
  const long long v = std::strtoll(s, &end, 10);
  TORCH_CHECK(end && *end == '\0' && v >= 0, "TATS_TRACE_STEP must be a step index >= 0, got '", s, "'");
  return v;
}

}  // namespace

bool step_timing_enabled() {
  const char* v = std::getenv("TATS_STEP_TIMING");
  return v && std::strcmp(v, "1") == 0;
}

StepTrace::StepTrace(int64_t step) {
  const char* p = std::getenv("TATS_TRACE");
  if (!p || !*p || step != traced_step()) return;
  path_ = p;
#if TORCH_VERSION_MAJOR >= 2
  namespace prof = torch::profiler::impl;
  std::set<prof::ActivityType> activities{prof::ActivityType::CPU};
  if (torch::cuda::is_available()) activities.insert(prof::ActivityType::CUDA);
  // Input shapes and dtypes on every op: which copies and casts a step makes (bench/trace_summary.py).
  const prof::ProfilerConfig config(prof::ProfilerState::KINETO, /*report_input_shapes=*/true);
  torch::autograd::profiler::prepareProfiler(config, activities);
  torch::autograd::profiler::enableProfiler(config, activities);
  active_ = true;
#else
  TORCH_CHECK(false, "TATS_TRACE needs libtorch >= 2 (Kineto); this build has libtorch ", TORCH_VERSION);
#endif
}

StepTrace::~StepTrace() {
  if (!active_) return;
#if TORCH_VERSION_MAJOR >= 2
  try {
    if (torch::cuda::is_available()) torch::cuda::synchronize();
    auto result = torch::autograd::profiler::disableProfiler();
    result->save(path_);
    std::fprintf(stderr, "tats: step trace written to %s\n", path_.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tats: TATS_TRACE could not be written to %s: %s\n", path_.c_str(), e.what());
  }
#endif
}

}  // namespace tats::core
