#include "core/distributed.h"

#include <mutex>
#include <stdexcept>

#include "core/dist_compat.h"

namespace tats::core {

struct Collective::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  compat::BackendPtr backend;
};

namespace {

std::mutex& group_mutex() {
  static std::mutex m;
  return m;
}

std::shared_ptr<Collective>& group_slot() {
  static std::shared_ptr<Collective> g;
  return g;
}

std::string message_of(const std::exception& e) {
  if (const auto* c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
  return e.what();
}

torch::Device parse_group_device(const std::string& s) {
  TORCH_CHECK(s == "cpu" || s.rfind("cuda", 0) == 0, "distributed: device must be 'cpu' or 'cuda:<index>', got '", s,
              "'");
  return torch::Device(s);
}

void wait(const c10::intrusive_ptr<c10d::Work>& work) { work->wait(); }

}  // namespace

std::vector<std::string> available_backends() {
  std::vector<std::string> out;
  if (TATS_HAS_GLOO) out.emplace_back("gloo");
  if (TATS_HAS_NCCL) out.emplace_back("nccl");
  return out;
}

Collective::Collective(const DistOptions& o) : options_(o), device_(parse_group_device(o.device)), impl_(new Impl) {
  TORCH_CHECK(o.world_size >= 1, "distributed: world size must be >= 1, got ", o.world_size);
  TORCH_CHECK(o.rank >= 0 && o.rank < o.world_size, "distributed: rank must be in [0, ", o.world_size, "), got ",
              o.rank);
  TORCH_CHECK(o.master_port >= 1 && o.master_port <= 65535, "distributed: master port must be in 1..65535, got ",
              o.master_port);
  TORCH_CHECK(!o.master_addr.empty(), "distributed: master address is empty");
  TORCH_CHECK(o.timeout_ms > 0, "distributed: timeout must be positive, got ", o.timeout_ms, " ms");
  TORCH_CHECK(o.backend == "gloo" || o.backend == "nccl", "distributed: backend must be 'gloo' or 'nccl', got '",
              o.backend, "'");
  TORCH_CHECK(o.backend != "nccl" || device_.is_cuda(), "distributed: backend 'nccl' needs a CUDA device, got ",
              device_);
  const std::chrono::milliseconds timeout(o.timeout_ms);
  const int rank = static_cast<int>(o.rank), world = static_cast<int>(o.world_size);
  const std::string where = "rank " + std::to_string(o.rank) + " of " + std::to_string(o.world_size) + " at " +
                            o.master_addr + ":" + std::to_string(o.master_port);
  try {
    impl_->store = compat::make_tcp_store(o.master_addr, static_cast<int>(o.master_port), rank, world, timeout);
  } catch (const std::exception& e) {
    TORCH_CHECK(false, "distributed: rendezvous (TCPStore) failed for ", where, " within ", o.timeout_ms / 1000.0,
                " s: ", message_of(e));
  }
  try {
    impl_->backend = o.backend == "nccl" ? compat::make_nccl(impl_->store, rank, world, timeout)
                                         : compat::make_gloo(impl_->store, rank, world, timeout);
  } catch (const std::exception& e) {
    TORCH_CHECK(false, "distributed: creating the ", o.backend, " process group failed for ", where, ": ",
                message_of(e));
  }
  // One all-reduce: every member answers (NCCL creates its communicator here), and the count
  // proves the group has world_size members.
  auto one = torch::ones({1}, torch::TensorOptions().dtype(torch::kFloat).device(device_));
  try {
    all_reduce_sum_(one);
  } catch (const std::exception& e) {
    TORCH_CHECK(false, "distributed: the first all-reduce failed for ", where, ": ", message_of(e));
  }
  const auto members = one.to(torch::kCPU).item<float>();
  TORCH_CHECK(members == static_cast<float>(o.world_size), "distributed: the group answered with ", members,
              " members, expected ", o.world_size, " (", where, ")");
}

Collective::~Collective() {
  try {
    if (impl_ && impl_->backend) compat::shutdown_backend(impl_->backend);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tats: distributed shutdown: %s\n", e.what());
  }
}

std::shared_ptr<Collective> Collective::init(const DistOptions& options) {
  std::lock_guard<std::mutex> lock(group_mutex());
  TORCH_CHECK(!group_slot(), "distributed: this process already belongs to a process group (rank ",
              group_slot()->rank(), " of ", group_slot()->world_size(), ")");
  auto group = std::make_shared<Collective>(options);
  group_slot() = group;
  return group;
}

std::shared_ptr<Collective> Collective::current() {
  std::lock_guard<std::mutex> lock(group_mutex());
  return group_slot();
}

void Collective::shutdown() {
  std::lock_guard<std::mutex> lock(group_mutex());
  group_slot().reset();
}

void Collective::all_reduce_sum_(torch::Tensor& t) {
  TORCH_CHECK(t.is_contiguous(), "distributed: all-reduce needs a contiguous tensor");
  std::vector<at::Tensor> tensors{t};
  c10d::AllreduceOptions opts;
  opts.reduceOp = c10d::ReduceOp::SUM;
  wait(impl_->backend->allreduce(tensors, opts));
}

void Collective::all_reduce_mean_(torch::Tensor& t) {
  if (options_.world_size == 1) return;
  all_reduce_sum_(t);
  t.div_(static_cast<double>(options_.world_size));
}

void Collective::broadcast_(torch::Tensor& t, int64_t root) {
  TORCH_CHECK(t.is_contiguous(), "distributed: broadcast needs a contiguous tensor");
  std::vector<at::Tensor> tensors{t};
  c10d::BroadcastOptions opts;
  opts.rootRank = root;
  wait(impl_->backend->broadcast(tensors, opts));
}

std::pair<torch::Tensor, torch::Tensor> Collective::mean_var(const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  const auto r = x.detach().to(torch::kFloat);
  const auto m = r.mean(), v = r.var(/*unbiased=*/false);
  if (options_.world_size == 1) return {m, v};
  // Each rank writes its (m, v) into its own row; the sum over ranks gathers every row.
  auto rows = torch::zeros({options_.world_size, 2}, r.options());
  rows.select(0, options_.rank).copy_(torch::stack({m, v}));
  all_reduce_sum_(rows);
  const auto means = rows.select(1, 0), vars = rows.select(1, 1);
  const auto mean = means.mean();
  const auto var = vars.mean() + (means - mean).pow(2).mean();
  return {mean, var};
}

}  // namespace tats::core
