// The demo: record a fused computation, show its IR and kernels, compute it and time it.
#include <kiln/kiln.h>

#include <chrono>
#include <iostream>

int main() {
    using clock = std::chrono::steady_clock;
    kiln::manual_seed(0);
    const int64_t n = 1 << 20;
    auto x = kiln::randn({n});
    auto w = kiln::randn({n});
    auto b = kiln::randn({n});
    kiln::realize({x, w, b});  // draws are lazy too: compute the inputs first

    // Recorded, not run: this is one fused kernel.
    auto y = kiln::gelu(x * w + b) * kiln::sigmoid(x) + x * x;
    std::cout << "== IR of y = gelu(x*w+b)*sigmoid(x) + x*x\n" << kiln::graph_text({y});
    std::cout << "\n== kernels\n" << kiln::kernels_text({y});

    auto t0 = clock::now();
    float total = y.sum().item<float>();
    auto t1 = clock::now();
    std::cout << "\nsum(y) = " << total << "  (first run, compile included: "
              << std::chrono::duration<double, std::milli>(t1 - t0).count() << " ms)\n";

    // The same structure on new data reuses the compiled program.
    auto x2 = kiln::randn({n});
    x2.realize();
    auto y2 = kiln::gelu(x2 * w + b) * kiln::sigmoid(x2) + x2 * x2;
    t0 = clock::now();
    float total2 = y2.sum().item<float>();
    t1 = clock::now();
    std::cout << "sum(y2) = " << total2 << "  (cached program: "
              << std::chrono::duration<double, std::milli>(t1 - t0).count() << " ms)\n";

    // A row softmax is one kernel with two reduce stages.
    auto logits = kiln::randn({4, 6});
    logits.realize();
    auto p = kiln::softmax(logits, 1);
    std::cout << "\n== softmax kernels\n" << kiln::kernels_text({p});
    std::cout << "\nsoftmax(logits, 1) =\n" << p << "\n";

    auto s = kiln::stats();
    std::cout << "\nstats: " << s.kernels_compiled << " kernels compiled, " << s.kernel_disk_hits
              << " loaded from disk, " << s.kernels_launched << " launched, "
              << s.program_cache_hits << " program cache hits\n";
    return 0;
}
