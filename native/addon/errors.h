// How native failures reach JavaScript: as Error objects with a stable `code` and a message
// without the C++ backtrace. Workers capture {code, message} off the JS thread and build the
// Error on it.
#pragma once
#include <napi.h>

#include <exception>
#include <string>

namespace tats::addon {

struct NativeFailure {
  std::string code;     // ERR_TORCH, ERR_TORCH_OOM, ERR_INVALID_ARG, ...
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

// A promise-returning job: Run() on a worker thread, Result() back on the JS thread.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, const char* name)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)), name_(name) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  virtual void Run() = 0;                               // worker thread: no JS values here
  virtual Napi::Value Result(Napi::Env env) = 0;        // JS thread
  virtual void Cleanup() {}                             // JS thread, after resolve or reject

 private:
  void Execute() final {
    try {
      Run();
    } catch (...) {
      failure_ = current_failure(name_);
      failed_ = true;
    }
  }
  void OnOK() final {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (failed_) {
      deferred_.Reject(to_js_error(env, failure_).Value());
    } else {
      try {
        deferred_.Resolve(Result(env));
      } catch (const Napi::Error& e) {
        deferred_.Reject(e.Value());
      } catch (...) {
        deferred_.Reject(to_js_error(env, current_failure(name_)).Value());
      }
    }
    Cleanup();
  }
  void OnError(const Napi::Error& e) final {
    deferred_.Reject(e.Value());
    Cleanup();
  }

  Napi::Promise::Deferred deferred_;
  const char* name_;
  NativeFailure failure_;
  bool failed_ = false;
};

}  // namespace tats::addon
