// One discipline for the session methods: the session is marked busy before any argument is
// read, because reading one may run JS (a getter, a Proxy trap) and that JS may call dispose(),
// start a second call, or detach a buffer. While the guard stands a second call gets ERR_BUSY,
// and dispose() only drops the wrapper's pointer: the guard holds the session, and once every
// argument is a C++ value check_alive() refuses with ERR_DISPOSED. hand_over() passes the busy
// mark on to the worker, which clears it when the promise settles.
#pragma once
#include <napi.h>

#include <memory>
#include <string>

#include "addon/errors.h"

namespace tats::addon {

// Before a call takes its guard: throws ERR_DISPOSED after dispose(), and while another call runs
// returns a promise rejected with ERR_BUSY; else an empty value. `where` is e.g. "Session.trainStep".
template <typename Wrap>
Napi::Value check_ready(Napi::Env env, const Wrap& wrap, const std::string& where) {
  if (!wrap.session()) throw_error(env, "ERR_DISPOSED", where + ": the session has been disposed");
  if (wrap.busy()) return rejected_busy(env, where);
  return Napi::Value();
}

template <typename Wrap, typename Core>
class CallGuard {
 public:
  explicit CallGuard(Wrap* wrap) : wrap_(wrap), session_(wrap->session()) { wrap_->set_busy(true); }
  ~CallGuard() {
    if (!handed_) wrap_->set_busy(false);
  }
  CallGuard(const CallGuard&) = delete;
  CallGuard& operator=(const CallGuard&) = delete;

  // The session as it was when the call started (alive for the guard's life).
  const std::shared_ptr<Core>& session() const { return session_; }
  void check_alive(Napi::Env env, const std::string& where) const {
    if (!wrap_->session())
      throw_error(env, "ERR_DISPOSED", where + ": the session was disposed while the call's arguments were read");
  }
  void hand_over() { handed_ = true; }
  Wrap* wrap() const { return wrap_; }

 private:
  Wrap* wrap_;
  std::shared_ptr<Core> session_;
  bool handed_ = false;
};

}  // namespace tats::addon
