// Data-parallel collectives over a c10d process group: one group per process (as
// torch.distributed's default group), created by Collective::init from the rank's rendezvous
// settings (rank 0 serves a c10d::TCPStore at master_addr:master_port; every rank connects), on
// Gloo (CPU tensors) or NCCL (CUDA tensors). The training step calls the collectives below; on
// NCCL they are queued on the device (work->wait() makes the current stream wait, the host does
// not), so a step stays free of host syncs. Every rank must make the same calls in the same order.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace tats::core {

struct DistOptions {
  int64_t rank = 0, world_size = 1;
  std::string master_addr;  // host of rank 0's TCPStore
  int64_t master_port = 0;  // 1..65535
  std::string backend;      // gloo | nccl
  int64_t timeout_ms = 0;   // rendezvous and per-collective timeout (> 0)
  std::string device;       // where the collectives' own buffers live: "cpu" or "cuda:<index>"
};

class Collective {
 public:
  // Creates the process-wide group (blocks until every rank has joined, up to the timeout, then
  // checks with one all-reduce that the group has world_size members). Throws if one exists.
  static std::shared_ptr<Collective> init(const DistOptions& options);
  // The process-wide group, or null before init() / after shutdown().
  static std::shared_ptr<Collective> current();
  // Drops the process-wide group (sessions holding it keep it alive until they go).
  static void shutdown();

  int64_t rank() const { return options_.rank; }
  int64_t world_size() const { return options_.world_size; }
  const std::string& backend() const { return options_.backend; }
  const torch::Device& device() const { return device_; }

  // In place, on every rank: t <- sum over ranks of t; mean: then divided by world_size.
  // t must be contiguous, on the group's device type.
  void all_reduce_sum_(torch::Tensor& t);
  void all_reduce_mean_(torch::Tensor& t);
  // In place: every rank's t <- root's t.
  void broadcast_(torch::Tensor& t, int64_t root = 0);
  // Population mean and variance of all entries of x over every rank, each rank holding the same
  // number of entries (0-d fp32 tensors on x's device; no host sync):
  //   mean = mean_r m_r,  var = mean_r v_r + mean_r (m_r - mean)^2  (m_r, v_r: rank r's own).
  std::pair<torch::Tensor, torch::Tensor> mean_var(const torch::Tensor& x);

  struct Impl;  // c10d objects (distributed.cpp; version differences in dist_compat.h)
  explicit Collective(const DistOptions& options);
  ~Collective();

 private:
  DistOptions options_;
  torch::Device device_;
  std::unique_ptr<Impl> impl_;
};

// Which backends this binary can create ("gloo", "nccl").
std::vector<std::string> available_backends();

}  // namespace tats::core
