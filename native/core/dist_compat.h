// The c10d API differences between the two libtorch builds we compile against, in one place:
//   libtorch 1.13 (Debian, CPU): ProcessGroupGloo derives from c10d::ProcessGroup, and the
//                                Gloo headers come from libgloo-dev;
//   libtorch 2.x (pip, CUDA):    backends (ProcessGroupGloo, ProcessGroupNCCL) derive from
//                                c10d::Backend, and ProcessGroupNCCL.hpp needs nccl.h, which
//                                CMakeLists.txt looks for (TATS_WITH_NCCL when found).
// What the rest of the code sees: BackendPtr, make_tcp_store(), make_gloo(), make_nccl(), and the
// two macros TATS_HAS_GLOO / TATS_HAS_NCCL saying which backends this binary can create.
#pragma once
#include <torch/torch.h>
#include <torch/version.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

// Gloo: compiled in when libtorch was built with it and its headers are installed.
#if __has_include(<gloo/algorithm.h>) && (defined(USE_C10D_GLOO) || TORCH_VERSION_MAJOR < 2)
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#define TATS_HAS_GLOO 1
#else
#define TATS_HAS_GLOO 0
#endif

// NCCL: only in CUDA builds whose CMake found nccl.h (a pip torch keeps it in nvidia/nccl/include).
#if defined(TATS_WITH_CUDA) && defined(TATS_WITH_NCCL)
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#define TATS_HAS_NCCL 1
#else
#define TATS_HAS_NCCL 0
#endif

#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#endif

namespace tats::core::compat {

// The object collectives are called on: a backend in 2.x, the process group itself in 1.13.
#if TORCH_VERSION_MAJOR >= 2
using BackendBase = c10d::Backend;
#else
using BackendBase = c10d::ProcessGroup;
#endif
using BackendPtr = c10::intrusive_ptr<BackendBase>;

// Rank 0 serves the store; every rank (rank 0 included) is a client. The constructor waits for
// the server (clients) and, on the server, for all `world` clients to join, up to `timeout`.
inline c10::intrusive_ptr<c10d::Store> make_tcp_store(const std::string& host, int port, int rank, int world,
                                                       std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions o;
  o.port = static_cast<std::uint16_t>(port);
  o.isServer = rank == 0;
  o.numWorkers = static_cast<std::size_t>(world);
  o.waitWorkers = true;
  o.timeout = timeout;
  return c10::make_intrusive<c10d::TCPStore>(host, o);
}

inline BackendPtr make_gloo(const c10::intrusive_ptr<c10d::Store>& store, int rank, int world,
                            std::chrono::milliseconds timeout) {
#if TATS_HAS_GLOO
  auto o = c10d::ProcessGroupGloo::Options::create(timeout);
  // As torch.distributed: the interface named by GLOO_SOCKET_IFNAME, else this host's address
  // (loopback when the hostname does not resolve).
  const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
  if (ifname && *ifname) o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
  else o->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world, o);
#else
  TORCH_CHECK(false, "backend 'gloo': this binary was built without Gloo (libtorch ", TORCH_VERSION,
              " headers without gloo/; on Debian install libgloo-dev and rebuild)");
#endif
}

// Ends a backend's work before it is destroyed. NCCL: ProcessGroupNCCL::shutdown (what
// torch.distributed.destroy_process_group does); without it the destructor aborts the
// communicators, and at process exit, with the CUDA driver already going, that abort throws and
// terminates the process. Gloo needs nothing.
inline void shutdown_backend(const BackendPtr& backend) {
#if TATS_HAS_NCCL
  if (auto* nccl = dynamic_cast<c10d::ProcessGroupNCCL*>(backend.get())) nccl->shutdown();
#else
  (void)backend;
#endif
}

inline BackendPtr make_nccl(const c10::intrusive_ptr<c10d::Store>& store, int rank, int world,
                            std::chrono::milliseconds timeout) {
#if TATS_HAS_NCCL
  auto o = c10d::ProcessGroupNCCL::Options::create();
  o->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, world, o);
#else
#ifdef TATS_WITH_CUDA
  TORCH_CHECK(false, "backend 'nccl': this CUDA binary was built without NCCL (nccl.h was not found at build "
              "time; set NCCL_INCLUDE_DIR and rebuild)");
#else
  TORCH_CHECK(false, "backend 'nccl': this binary was built without CUDA (libtorch ", TORCH_VERSION,
              " is CPU-only); use backend 'gloo' on CPUs");
#endif
#endif
}

}  // namespace tats::core::compat
