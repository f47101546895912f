#pragma once
/// The loss reductions the functional tests run every loss under, and their names.
#include <vector>

#include "kiln/functional.h"

namespace kiln::test {

inline const char* name_of(nn::functional::Reduction r) {
    using nn::functional::Reduction;
    switch (r) {
    case Reduction::None: return "None";
    case Reduction::Sum: return "Sum";
    case Reduction::Mean: return "Mean";
    }
    return "?";
}

inline const std::vector<nn::functional::Reduction> kReductions{
    nn::functional::Reduction::Mean, nn::functional::Reduction::Sum,
    nn::functional::Reduction::None};

}  // namespace kiln::test
