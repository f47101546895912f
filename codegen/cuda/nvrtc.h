#pragma once
/// NVRTC, the CUDA runtime compiler, loaded with dlopen at first use (never linked), so one
/// Kiln build runs with or without the CUDA toolkit and the build needs no CUDA header. NVRTC
/// compiles to PTX or CUBIN without a GPU. Thread-safe.
///
/// Looked for, in order: libnvrtc.so.13, libnvrtc.so.12, libnvrtc.so (the loader's search
/// path), then /usr/local/cuda/lib64/libnvrtc.so.13 and /usr/local/cuda/lib64/libnvrtc.so;
/// only $KILN_NVRTC_LIBRARY when that is set (tests use tests/fake_cuda's stand-in that way).
#include <string>
#include <vector>

namespace kiln::codegen {

/// True when NVRTC could be loaded (loads it on the first call).
bool nvrtc_available();

/// NVRTC's version, e.g. "13.0"; throws kiln::Error when NVRTC is not available.
std::string nvrtc_version();

/// Why NVRTC is not available: the paths tried and the loader's error ("" when it is).
std::string nvrtc_unavailable_reason();

/// Compiles one CUDA C translation unit (codegen/cuda/cuda_source.h's render_cuda()) to PTX
/// for virtual architecture `arch` ("compute_90"). `name` names the program in messages.
/// `options` are extra NVRTC flags after Kiln's (--std=c++17, --gpu-architecture=ARCH; precise
/// division and square roots, no fast math: NVRTC's defaults).
/// Throws kiln::InternalError with NVRTC's log and the line-numbered source when the source
/// does not compile (generated code is Kiln's responsibility), and kiln::Error when NVRTC is
/// not available (saying where it looked).
std::string compile_ptx(const std::string& source, const std::string& name,
                        const std::string& arch = "compute_90",
                        const std::vector<std::string>& options = {});

/// As compile_ptx(), to a CUBIN for real architecture `arch` ("sm_90"). A compute_XX arch has
/// no CUBIN and is an error.
std::vector<char> compile_cubin(const std::string& source, const std::string& name,
                                const std::string& arch = "sm_90",
                                const std::vector<std::string>& options = {});

/// The toolkit's include directory (found next to the loaded library, else
/// /usr/local/cuda/include), passed to NVRTC only for sources that #include something (Kiln's
/// kernels do not); "" when there is none.
std::string nvrtc_include_dir();

}  // namespace kiln::codegen
