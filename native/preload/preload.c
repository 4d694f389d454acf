// tats-preload.node: a torch-free Node-API module with one export, preload(path).
//
// Why it exists: a prebuilt tats.node names its libtorch libraries by SONAME only (libtorch.so,
// libc10.so, libtorch_cuda.so, ...) and carries no RPATH to the user's torch, which can live in
// any site-packages. Setting LD_LIBRARY_PATH at run time has no effect, and process.dlopen() of a
// plain .so unloads it again ("did not self-register"). dlopen(RTLD_NOW | RTLD_GLOBAL) of the
// chosen libraries by absolute path, before tats.node is required, makes glibc satisfy the
// addon's NEEDED entries from the libraries already loaded (lib/loader/preload.ts chooses them).
//
// Build (scripts/prebuild.js does this; no torch, no cmake):
//   cc -O2 -shared -fPIC -I node_modules/node-api-headers/include native/preload/preload.c -o tats-preload.node
#define NAPI_VERSION 8
#include <dlfcn.h>
#include <node_api.h>
#include <stddef.h>

static napi_value throw_error(napi_env env, const char* code, const char* msg) {
  napi_throw_error(env, code, msg);
  return NULL;
}

// preload(path: string): true, or throws Error(code ERR_PRELOAD) with dlerror()'s text.
static napi_value Preload(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1)
    return throw_error(env, "ERR_INVALID_ARG", "preload(path): expected one string argument");
  char path[4096];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof(path), &len) != napi_ok)
    return throw_error(env, "ERR_INVALID_ARG", "preload(path): expected a string");
  if (len >= sizeof(path) - 1) return throw_error(env, "ERR_INVALID_ARG", "preload(path): path too long");
  // Never dlclose()d: the libraries stay for the life of the process, as they would under `import torch`.
  void* handle = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
  if (handle == NULL) {
    const char* err = dlerror();
    return throw_error(env, "ERR_PRELOAD", err ? err : "dlopen failed");
  }
  napi_value result;
  napi_get_boolean(env, 1, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "preload", NAPI_AUTO_LENGTH, Preload, NULL, &fn);
  napi_set_named_property(env, exports, "preload", fn);
  return exports;
}
