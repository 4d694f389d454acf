// CUDA-graph capture of a whole training step (forward, backward, optimiser) whose shapes and
// buffer addresses are fixed. The first `warmup` calls run the body eagerly on the graph's own
// stream (cuBLAS workspaces, autograd and optimiser state get created there), the next call
// captures it (nothing runs during capture) and replays it at once, later calls only replay it:
// one launch instead of ~1500. If capture fails, the error is printed to stderr and every call
// runs the body eagerly from then on. Built only with CUDA and libtorch >= 2 (supported()).
#pragma once
#include <torch/torch.h>

#include <functional>
#include <memory>

namespace tats::core {

class StepGraph {
 public:
  static bool supported();
  StepGraph(const torch::Device& device, int warmup);
  ~StepGraph();
  StepGraph(const StepGraph&) = delete;
  StepGraph& operator=(const StepGraph&) = delete;

  // With the graph's stream current: before() (eager every call: uploads into the static inputs,
  // host-valued scalars), then body() (eager, captured+replayed, or replayed), then after()
  // (eager: read the static outputs).
  void run(const std::function<void()>& before, const std::function<void()>& body,
           const std::function<void()>& after);
  bool captured() const;
  bool failed() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tats::core
