#include "kiln/device.h"

namespace kiln {

std::string Device::str() const {
    if (is_cpu()) return "cpu";
    return "cuda:" + std::to_string(index);
}

}  // namespace kiln
