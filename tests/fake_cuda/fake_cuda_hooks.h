#pragma once
/// What the fake libraries export besides the CUDA APIs: counters for tests, and the fake driver's
/// view of device memory and streams for the fake cuBLAS (which links the fake driver, so that it
/// can reject host pointers and dead streams the way a real GPU would fail on them).

#define KILN_FAKE_HOOK __attribute__((visibility("default")))

extern "C" {

/// The fake driver's totals since the process started: successful cuMemAlloc / cuMemFree calls,
/// kernel launches that ran, and bytes currently allocated (as asked for, not rounded).
KILN_FAKE_HOOK void kiln_fake_cuda_counters(long long* allocs, long long* frees,
                                            long long* launches, long long* bytes_in_use);

/// 1 when [address, address + bytes) lies inside one live fake-device allocation, else 0.
KILN_FAKE_HOOK int kiln_fake_cuda_device_range(const void* address, unsigned long long bytes);

/// 1 for the null stream or a live fake-driver stream, else 0.
KILN_FAKE_HOOK int kiln_fake_cuda_stream_live(void* stream);

/// Successful fake cuBLAS GEMM calls (a batched call counts once).
KILN_FAKE_HOOK long long kiln_fake_cublas_calls();
}
