#include "core/step_graph.h"

#include <torch/version.h>

#include <iostream>

#if defined(TATS_WITH_CUDA) && TORCH_VERSION_MAJOR >= 2
#define TATS_STEP_GRAPH 1
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>

// ATen's per-thread cuDNN handle getter (ATen/cudnn/Handle.h, whose include chain needs cudnn.h,
// which the PyTorch wheels do not put on the include path). cudnnHandle_t is cudnnContext*.
struct cudnnContext;
namespace at::native {
TORCH_CUDA_CPP_API cudnnContext* getCudnnHandle();
}
#endif

namespace tats::core {

struct StepGraph::Impl {
  int warmup = 0, calls = 0;
  bool failed = false;
#ifdef TATS_STEP_GRAPH
  c10::cuda::CUDAStream stream;
  std::unique_ptr<at::cuda::CUDAGraph> graph;
  Impl(const torch::Device& device, int warmup_)
      : warmup(warmup_), stream(c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index())) {}
#else
  Impl(const torch::Device&, int warmup_) : warmup(warmup_) {}
#endif
};

bool StepGraph::supported() {
#ifdef TATS_STEP_GRAPH
  return true;
#else
  return false;
#endif
}

StepGraph::StepGraph(const torch::Device& device, int warmup) : impl_(std::make_unique<Impl>(device, warmup)) {}
StepGraph::~StepGraph() = default;

bool StepGraph::captured() const {
#ifdef TATS_STEP_GRAPH
  return impl_->graph != nullptr;
#else
  return false;
#endif
}

bool StepGraph::failed() const { return impl_->failed; }

void StepGraph::run(const std::function<void()>& before, const std::function<void()>& body,
                    const std::function<void()>& after) {
#ifdef TATS_STEP_GRAPH
  auto& s = *impl_;
  // The caller's stream may still be producing what before() reads (a graph run inside another
  // graph's after(), e.g. TATS's PPO update): the graph's stream waits for it, and the caller's
  // stream waits for the graph's work before it goes on. Both waits stay on the device.
  const auto caller = c10::cuda::getCurrentCUDAStream(s.stream.device_index());
  at::cuda::CUDAEvent ready;
  ready.record(caller);
  ready.block(s.stream);
  const c10::cuda::CUDAStreamGuard guard(s.stream);
  before();
  if (!s.graph && (s.failed || s.calls < s.warmup)) {
    body();
  } else {
    if (!s.graph) {
      s.stream.synchronize();
      auto g = std::make_unique<at::cuda::CUDAGraph>();
      bool ok = true;
      try {
        // Steps run on libuv pool threads, and cuBLAS / cuBLASLt / cuDNN handles are per thread,
        // created lazily: a thread that never ran a step would create them inside the capture,
        // which fails (CUBLAS_STATUS_NOT_INITIALIZED). Create this thread's handles first.
        (void)at::cuda::getCurrentCUDABlasHandle();
        (void)at::cuda::getCurrentCUDABlasLtHandle();
        (void)at::native::getCudnnHandle();
        g->capture_begin();
        body();
        g->capture_end();
      } catch (const std::exception& e) {
        ok = false;
        std::cerr << "tats: CUDA graph capture of the training step failed, running eagerly: " << e.what() << "\n";
        try {
          g->capture_end();
        } catch (...) {
        }
        s.failed = true;
      }
      if (ok) {
        s.graph = std::move(g);
      } else {
        (void)cudaGetLastError();  // clear the capture's error state
        body();                    // nothing ran during the failed capture: do this step eagerly
      }
    }
    if (s.graph) s.graph->replay();
  }
  ++s.calls;
  after();
  at::cuda::CUDAEvent done;
  done.record(s.stream);
  done.block(caller);
#else
  (void)before;
  (void)body;
  (void)after;
  TORCH_CHECK(false, "StepGraph: this build has no CUDA graph support (needs CUDA and libtorch >= 2)");
#endif
}

}  // namespace tats::core
