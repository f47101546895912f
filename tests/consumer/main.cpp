// Uses an installed Kiln through its public header only. Exits non-zero when the result is wrong
// or Kiln throws, so scripts/test fails when the installed package does not work.
#include <exception>
#include <iostream>

#include <kiln/kiln.h>

int main() {
    try {
        auto x = kiln::arange(6).to(kiln::kFloat32).reshape({2, 3});
        auto y = (x * 2 + 1).sum();
        float value = y.item<float>();
        std::cout << value << "\n";
        // 1 + 3 + 5 + 7 + 9 + 11: small integers, exact in float whatever the summation order.
        if (value != 36.0f) {
            std::cerr << "consumer: expected 36, got " << value << "\n";
            return 1;
        }
    } catch (const std::exception& e) {
        std::cerr << "consumer: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
