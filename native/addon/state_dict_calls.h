// stateDict() and loadStateDict() for Session and ClassifierSession: the same argument reading on
// the JS thread and the same workers; only the core session type and the call names differ. The
// conversion of the state dicts themselves: state_dict.h.
#pragma once
#include <napi.h>

#include <map>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "addon/call_guard.h"
#include "addon/convert.h"
#include "addon/errors.h"
#include "addon/state_dict.h"
#include "addon/wrap_worker.h"

namespace tats::addon {

template <typename Wrap, typename Core>
class StateDictWorker : public WrapWorker<Wrap, Core> {
 public:
  using WrapWorker<Wrap, Core>::WrapWorker;

 protected:
  void Run() override {
    entries_ = this->session_->state_dict();
    for (auto& [name, t] : entries_) {
      safetensors_dtype(t.scalar_type());  // fail here, off the JS thread, on a dtype without a name
      t = t.contiguous();
    }
  }
  // The session is still marked busy here, so the tensors (which may alias live CPU weights)
  // cannot change while they are copied.
  Napi::Value Result(Napi::Env env) override { return state_to_js(env, entries_); }

 private:
  std::vector<std::pair<std::string, torch::Tensor>> entries_;
};

// core::Session::load_state_dict returns nothing and the promise resolves to undefined;
// core::ClassifierSession's returns a LoadReport, resolved as {missing, unexpected}.
template <typename Wrap, typename Core>
class LoadStateWorker : public WrapWorker<Wrap, Core> {
  using Entries = std::map<std::string, torch::Tensor>;
  using Report = decltype(std::declval<Core&>().load_state_dict(std::declval<const Entries&>(), true));
  static constexpr bool kReports = !std::is_void_v<Report>;

 public:
  LoadStateWorker(Napi::Env env, const char* name, Wrap* wrap, Entries entries, bool strict)
      : WrapWorker<Wrap, Core>(env, name, wrap), entries_(std::move(entries)), strict_(strict) {}

 protected:
  void Run() override {
    if constexpr (kReports)
      report_ = this->session_->load_state_dict(entries_, strict_);
    else
      this->session_->load_state_dict(entries_, strict_);
    step_ = this->session_->step();
  }
  Napi::Value Result(Napi::Env env) override {
    this->wrap_->set_step(step_);
    if constexpr (kReports) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("missing", names(env, report_.missing));
      o.Set("unexpected", names(env, report_.unexpected));
      return o;
    } else {
      return env.Undefined();
    }
  }

 private:
  static Napi::Array names(Napi::Env env, const std::vector<std::string>& v) {
    Napi::Array a = Napi::Array::New(env, v.size());
    for (size_t i = 0; i < v.size(); ++i) a.Set(static_cast<uint32_t>(i), v[i]);
    return a;
  }

  Entries entries_;
  bool strict_;
  std::conditional_t<kReports, Report, bool> report_{};  // a placeholder when there is no report
  int64_t step_ = 0;
};

// `where` names the call ("Session.stateDict") and must be a string literal (it outlives the worker).
template <typename Core, typename Wrap>
Napi::Value state_dict_call(const Napi::CallbackInfo& info, Wrap* wrap, const char* where) {
  Napi::Env env = info.Env();
  return guarded(env, where, [&]() -> Napi::Value {
    if (auto busy = check_ready(env, *wrap, where); !busy.IsEmpty()) return busy;
    CallGuard<Wrap, Core> call(wrap);
    auto* worker = new StateDictWorker<Wrap, Core>(env, where, wrap);
    call.hand_over();
    worker->Queue();
    return worker->Promise();
  });
}

// loadStateDict(state, {strict}): both arguments are read (JS may run: getters) under the call's
// guard, then the session is checked again before the worker is queued (call_guard.h).
template <typename Core, typename Wrap>
Napi::Value load_state_dict_call(const Napi::CallbackInfo& info, Wrap* wrap, const char* where) {
  Napi::Env env = info.Env();
  return guarded(env, where, [&]() -> Napi::Value {
    if (auto busy = check_ready(env, *wrap, where); !busy.IsEmpty()) return busy;
    CallGuard<Wrap, Core> call(wrap);
    const Napi::Object map = arg_object(info, 0, "state");
    const Napi::Object opts = arg_object(info, 1, "options");
    const Napi::Value strict = opts.Get("strict");
    if (!strict.IsBoolean()) throw_type_error(env, "options.strict must be a boolean");
    const bool strict_value = strict.As<Napi::Boolean>().Value();
    auto entries = state_from_js(env, map);
    call.check_alive(env, where);
    auto* worker = new LoadStateWorker<Wrap, Core>(env, where, wrap, std::move(entries), strict_value);
    call.hand_over();
    worker->Queue();
    return worker->Promise();
  });
}

}  // namespace tats::addon
