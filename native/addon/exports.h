// The export table: each binding file contributes one registration function.
#pragma once
#include <napi.h>

namespace tats::addon {

void register_info(Napi::Env env, Napi::Object exports);
void register_kernels(Napi::Env env, Napi::Object exports);
void register_matmul_peak(Napi::Env env, Napi::Object exports);
void register_runtime(Napi::Env env, Napi::Object exports);
void register_session(Napi::Env env, Napi::Object exports);
void register_masking(Napi::Env env, Napi::Object exports);
void register_classifier(Napi::Env env, Napi::Object exports);
void register_distributed(Napi::Env env, Napi::Object exports);

}  // namespace tats::addon
