// How native failures reach JavaScript: as Error objects with a stable `code` and a message
// without the C++ backtrace. Workers capture {code, message} off the JS thread and build the
// Error on it.
#pragma once
#include <napi.h>

#include <atomic>
#include <exception>
#include <memory>
#include <string>
#include <utility>

namespace tats::addon {

struct NativeFailure {
  std::string code;     // ERR_TORCH, ERR_OUT_OF_MEMORY, ERR_INVALID_ARG, ...
  std::string message;  // readable, one paragraph, no backtrace
};

// Classifies the exception in flight (call inside a catch block). `where` names the native call.
NativeFailure current_failure(const char* where);

Napi::Error to_js_error(Napi::Env env, const NativeFailure& failure);

// Argument errors raised on the JS thread before any work starts.
[[noreturn]] void throw_type_error(Napi::Env env, const std::string& message);
[[noreturn]] void throw_error(Napi::Env env, const std::string& code, const std::string& message);

// The promise a second concurrent call on a session gets: rejected with ERR_BUSY. `where` is e.g.
// "Session.trainStep".
Napi::Promise rejected_busy(Napi::Env env, const std::string& where);

// Runs `fn` on the JS thread; any C++ exception becomes a coded JS error.
template <typename Fn>
Napi::Value guarded(Napi::Env env, const char* where, Fn&& fn) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw to_js_error(env, current_failure(where));
  }
}

// Every export goes through this: a C++ exception that escapes the function (c10::Error,
// std::bad_alloc, ...) becomes a coded JS error instead of std::terminate.
template <typename Fn>
void export_function(Napi::Env env, Napi::Object exports, const char* name, Fn fn) {
  exports.Set(name, Napi::Function::New(
                        env, [fn, name](const Napi::CallbackInfo& info) -> Napi::Value {
                          return guarded(info.Env(), name, [&]() -> Napi::Value { return fn(info); });
                        },
                        name));
}

// False once the environment (the main thread's or a worker_thread's) has started tearing down:
// from then on no JS may run and no N-API call may be relied on. Set by an env cleanup hook.
std::shared_ptr<std::atomic<bool>> env_alive(Napi::Env env);

// A promise-returning job: Run() on a worker thread, Result() back on the JS thread.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, const char* name)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)), name_(name),
        alive_(env_alive(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  virtual void Run() = 0;                               // worker thread: no JS values here
  virtual Napi::Value Result(Napi::Env env) = 0;        // JS thread
  virtual void Cleanup() {}                             // JS thread, after resolve or reject; must not throw
  // The JS thread, when the environment is being torn down (a worker_thread terminated mid-call):
  // no JS may run. Frees what the call holds without touching JS values.
  virtual void Abandon() {}

 private:
  void Execute() final {
    try {
      Run();
    } catch (...) {
      failure_ = current_failure(name_);
      failed_ = true;
    }
  }
  // Nothing may escape from here: node-addon-api would call std::terminate. In a worker_thread
  // being terminated every N-API call fails (node-addon-api turns that into a thrown
  // Napi::Error), so the promise is settled only while the env can run JS, and otherwise the call
  // is abandoned (its C++ side freed, its JS references leaked with the env).
  void OnWorkComplete(Napi::Env env, napi_status status) override {
    if (status != napi_cancelled && alive_->load()) {
      try {
        Napi::HandleScope scope(env);
        settle(env);
      } catch (...) {
        // The env refused: it is going away and the promise can no longer be settled.
      }
      try {
        Cleanup();
      } catch (...) {
      }
    } else {
      try {
        Abandon();
      } catch (...) {
      }
    }
    Destroy();
  }
  void OnOK() final {}
  void OnError(const Napi::Error&) final {}
  void settle(Napi::Env env) {
    if (failed_) {
      deferred_.Reject(to_js_error(env, failure_).Value());
      return;
    }
    try {
      deferred_.Resolve(Result(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (...) {
      deferred_.Reject(to_js_error(env, current_failure(name_)).Value());
    }
  }

  Napi::Promise::Deferred deferred_;
  const char* name_;
  std::shared_ptr<std::atomic<bool>> alive_;
  NativeFailure failure_;
  bool failed_ = false;
};

}  // namespace tats::addon
