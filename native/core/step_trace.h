// TATS_TRACE=<file.json>: the libtorch (Kineto) profiler records one whole training step, step
// TATS_TRACE_STEP (default 3, after the warm-up allocations and autotuning), and saves it as a
// Chrome trace: every kernel with its duration, the aten op that launched it and the step's
// phases (the "tats.*" scopes below). bench/trace_summary.py sums it. This replaces ncu for
// per-kernel times: ncu serialises every launch and profiled ~2000 kernels in 4 minutes.
// Needs libtorch >= 2 (Kineto); elsewhere setting TATS_TRACE is an error.
#pragma once
#include <ATen/record_function.h>

#include <cstdint>
#include <string>

// A named phase of a step on the profiler's timeline (free when no profiler runs).
#define TATS_SCOPE(name) RECORD_USER_SCOPE(name)

namespace tats::core {

// TATS_STEP_TIMING=1: the session prints each step's host and total time to stderr (a
// diagnostic: it changes nothing; the README's table of environment variables).
bool step_timing_enabled();

class StepTrace {
 public:
  // Starts the profiler when `step` (steps taken before this one) is the traced step.
  explicit StepTrace(int64_t step);
  // Stops it and writes the trace (errors are reported on stderr: a trace never fails a step).
  ~StepTrace();
  StepTrace(const StepTrace&) = delete;
  StepTrace& operator=(const StepTrace&) = delete;

 private:
  std::string path_;
  bool active_ = false;
};

}  // namespace tats::core
