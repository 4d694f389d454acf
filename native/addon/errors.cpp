#include "addon/errors.h"

#include <c10/util/Exception.h>

#include <new>
#include <stdexcept>

namespace tats::addon {

namespace {
// Prefix the failing call's name unless the message already starts with it.
std::string with_where(const char* where, const std::string& msg) {
  const std::string prefix = std::string(where) + ":";
  return msg.rfind(prefix, 0) == 0 ? msg : prefix + " " + msg;
}

// libtorch's host allocator reports a failed allocation as a plain c10::Error
// ("DefaultCPUAllocator: can't allocate memory: you tried to allocate N bytes").
bool is_host_oom(const std::string& msg) {
  return msg.find("can't allocate memory") != std::string::npos || msg.find("std::bad_alloc") != std::string::npos;
}

// The allocator's own words after its "[enforce fail ...]" prefix.
std::string oom_detail(std::string msg) {
  const auto at = msg.find("can't allocate memory");
  if (at != std::string::npos) msg = msg.substr(at);
  const auto nl = msg.find('\n');
  if (nl != std::string::npos) msg.resize(nl);
  return msg;
}

}  // namespace

NativeFailure current_failure(const char* where) {
  try {
    throw;
  } catch (const c10::OutOfMemoryError& e) {
    return {"ERR_OUT_OF_MEMORY", with_where(where, std::string("out of device memory: ") + oom_detail(e.what_without_backtrace()))};
  } catch (const c10::IndexError& e) {
    return {"ERR_TORCH_INDEX", with_where(where, e.what_without_backtrace())};
  } catch (const c10::ValueError& e) {
    return {"ERR_TORCH_VALUE", with_where(where, e.what_without_backtrace())};
  } catch (const c10::TypeError& e) {
    return {"ERR_TORCH_TYPE", with_where(where, e.what_without_backtrace())};
  } catch (const c10::NotImplementedError& e) {
    return {"ERR_TORCH_NOT_IMPLEMENTED", with_where(where, e.what_without_backtrace())};
  } catch (const c10::Error& e) {
    if (is_host_oom(e.what_without_backtrace()))
      return {"ERR_OUT_OF_MEMORY", with_where(where, "out of host memory: " + oom_detail(e.what_without_backtrace()))};
    return {"ERR_TORCH", with_where(where, e.what_without_backtrace())};
  } catch (const std::invalid_argument& e) {
    return {"ERR_INVALID_ARG", with_where(where, e.what())};
  } catch (const std::bad_alloc&) {
    return {"ERR_OUT_OF_MEMORY", with_where(where, "out of host memory (std::bad_alloc)")};
  } catch (const std::exception& e) {
    return {"ERR_NATIVE", with_where(where, e.what())};
  } catch (...) {
    return {"ERR_NATIVE", with_where(where, "unknown native exception")};
  }
}

Napi::Error to_js_error(Napi::Env env, const NativeFailure& failure) {
  // c10 messages can end in newlines or carry "Exception raised from ..." lines; keep the first paragraph.
  std::string msg = failure.message;
  const auto cut = msg.find("\nException raised from");
  if (cut != std::string::npos) msg.resize(cut);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  Napi::Error err = Napi::Error::New(env, msg);
  err.Set("code", Napi::String::New(env, failure.code));
  return err;
}

void throw_type_error(Napi::Env env, const std::string& message) {
  Napi::TypeError err = Napi::TypeError::New(env, message);
  err.Set("code", Napi::String::New(env, "ERR_INVALID_ARG_TYPE"));
  throw err;
}

void throw_error(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  throw err;
}

Napi::Promise rejected_busy(Napi::Env env, const std::string& where) {
  auto deferred = Napi::Promise::Deferred::New(env);
  Napi::Error err = Napi::Error::New(env, where + ": another call on this session is still running; await it first");
  err.Set("code", Napi::String::New(env, "ERR_BUSY"));
  deferred.Reject(err.Value());
  return deferred.Promise();
}

}  // namespace tats::addon
