#include "support/shared_library.h"

#include <dlfcn.h>

#include <cstdlib>

namespace kiln::support {

void* Symbols::find(const char* name) const { return dlsym(library_, name); }

SharedLibrary load_shared_library(const char* env_var, const std::vector<std::string>& candidates,
                                  const std::function<std::string(void*)>& accept) {
    SharedLibrary lib;
    std::vector<std::string> paths = candidates;
    if (const char* p = std::getenv(env_var); p && *p) paths = {p};
    for (const std::string& path : paths) {
        void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        std::string why;
        if (!handle) {
            const char* e = dlerror();
            why = e ? e : "not found";
        } else if (accept) {
            why = accept(handle);
        }
        if (why.empty()) {
            lib.handle = handle;
            lib.path = path;
            return lib;
        }
        if (handle) dlclose(handle);
        lib.tried += "\n  " + path + ": " + why;
    }
    return lib;
}

}  // namespace kiln::support
