#include "runtime/cuda/device.h"

#include <memory>
#include <mutex>
#include <vector>

#include <fmt/format.h>

#include "kiln/error.h"
#include "runtime/indexing.h"

namespace kiln::runtime {
namespace {

// cuDeviceGetAttribute numbers (CUdevice_attribute).
constexpr int kAttrMultiprocessors = 16;
constexpr int kAttrComputeMajor = 75;
constexpr int kAttrComputeMinor = 76;
constexpr unsigned kStreamNonBlocking = 1;  // CU_STREAM_NON_BLOCKING: no sync with stream 0

CudaDevice open_device(int index) {
    const CudaDriverApi& api = cuda_api();
    std::string where = fmt::format(" for cuda:{}", index);
    CudaDevice d;
    d.index = index;
    CUdevice dev = 0;
    check_cuda(api.DeviceGet(&dev, index), "cuDeviceGet" + where);
    char name[256] = {};
    check_cuda(api.DeviceGetName(name, sizeof name - 1, dev), "cuDeviceGetName" + where);
    d.name = name;
    check_cuda(api.DeviceGetAttribute(&d.compute_major, kAttrComputeMajor, dev),
               "cuDeviceGetAttribute" + where);
    check_cuda(api.DeviceGetAttribute(&d.compute_minor, kAttrComputeMinor, dev),
               "cuDeviceGetAttribute" + where);
    check_cuda(api.DeviceGetAttribute(&d.multiprocessors, kAttrMultiprocessors, dev),
               "cuDeviceGetAttribute" + where);
    check_cuda(api.DevicePrimaryCtxRetain(&d.context, dev), "cuDevicePrimaryCtxRetain" + where);
    check_cuda(api.CtxSetCurrent(d.context), "cuCtxSetCurrent" + where);
    check_cuda(api.StreamCreate(&d.stream, kStreamNonBlocking), "cuStreamCreate" + where);
    // The primary context and the stream live as long as the process: tensors may be freed
    // during static destruction, and the driver tears both down at exit.
    return d;
}

struct Devices {
    std::mutex mutex;
    std::vector<std::unique_ptr<CudaDevice>> opened;  // by index; null until first use
    std::vector<CUdeviceptr> error_records;           // by index; 0 until first use
};

constexpr size_t kErrorRecordBytes = 4 * sizeof(long long);

Devices& devices() {
    static Devices* d = new Devices();  // leaked: used while static objects are destroyed
    return *d;
}

}  // namespace

std::string CudaDevice::arch() const { return fmt::format("sm_{}{}", compute_major, compute_minor); }

const CudaDevice& cuda_device(int index) {
    std::string why = cuda_unavailable_reason(index);
    if (!why.empty()) throw Error(fmt::format("cuda:{} is not available: {}", index, why));
    // The context a thread last made current, per thread: binding costs one compare when
    // nothing changed (most calls), and one driver call when a thread switches devices.
    thread_local CUcontext current = nullptr;
    Devices& all = devices();
    const CudaDevice* d = nullptr;
    {
        std::lock_guard lock(all.mutex);
        if (all.opened.size() <= static_cast<size_t>(index)) all.opened.resize(index + 1);
        auto& slot = all.opened[static_cast<size_t>(index)];
        if (!slot) {
            slot = std::make_unique<CudaDevice>(open_device(index));
            current = slot->context;
        }
        d = slot.get();
    }
    if (current != d->context) {
        check_cuda(cuda_api().CtxSetCurrent(d->context),
                   fmt::format("cuCtxSetCurrent for cuda:{}", index));
        current = d->context;
    }
    return *d;
}

CUdeviceptr cuda_error_record(int index) {
    const CudaDevice& d = cuda_device(index);
    Devices& all = devices();
    std::lock_guard lock(all.mutex);
    if (all.error_records.size() <= static_cast<size_t>(index)) all.error_records.resize(index + 1);
    CUdeviceptr& record = all.error_records[static_cast<size_t>(index)];
    if (record == 0) {
        std::string what = fmt::format("the error record of cuda:{}", index);
        CUdeviceptr p = 0;
        check_cuda(cuda_api().MemAlloc(&p, kErrorRecordBytes), "cuMemAlloc of " + what);
        check_cuda(cuda_api().MemsetD8Async(p, 0, kErrorRecordBytes, d.stream),
                   "cuMemsetD8Async of " + what);
        record = p;
    }
    return record;
}

void cuda_synchronize(int index) {
    const CudaDevice& d = cuda_device(index);
    check_cuda(cuda_api().StreamSynchronize(d.stream),
               fmt::format("work queued on cuda:{} (reported when synchronizing)", index));
    CUdeviceptr record = 0;
    {
        Devices& all = devices();
        std::lock_guard lock(all.mutex);
        if (static_cast<size_t>(index) < all.error_records.size())
            record = all.error_records[static_cast<size_t>(index)];
    }
    if (record == 0) return;
    long long values[4] = {};
    std::string what = fmt::format("reading the error record of cuda:{}", index);
    check_cuda(cuda_api().MemcpyDtoHAsync(values, record, kErrorRecordBytes, d.stream), what);
    check_cuda(cuda_api().StreamSynchronize(d.stream), what);
    if (values[0] == 0) return;
    check_cuda(cuda_api().MemsetD8Async(record, 0, kErrorRecordBytes, d.stream), what);
    throw IndexOutOfRange(values[1], values[2], values[3]);
}

}  // namespace kiln::runtime
