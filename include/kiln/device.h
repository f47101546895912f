#pragma once
/// Where a tensor lives: the CPU, or a CUDA GPU by index.
#include <cstdint>
#include <string>

namespace kiln {

enum class DeviceType : uint8_t { CPU, CUDA };
inline constexpr DeviceType kCPU = DeviceType::CPU;
inline constexpr DeviceType kCUDA = DeviceType::CUDA;

/// A device: a type and an index (the index is 0 for the CPU).
struct Device {
    DeviceType type = DeviceType::CPU;
    int index = 0;

    constexpr Device() = default;
    constexpr Device(DeviceType t, int i = 0) : type(t), index(i) {}  // NOLINT: implicit by design
    bool is_cpu() const { return type == DeviceType::CPU; }
    bool is_cuda() const { return type == DeviceType::CUDA; }
    bool operator==(const Device&) const = default;
    /// "cpu" or "cuda:0".
    std::string str() const;
};

}  // namespace kiln
