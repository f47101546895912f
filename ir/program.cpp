#include "ir/program.h"

namespace kiln::ir {

StepBuffers step_buffers(const Step& step) {
    StepBuffers io;
    if (const auto* k = std::get_if<KernelStep>(&step)) {
        std::vector<bool> stored(k->buffers.size(), false);
        for (const Stage& st : k->kernel.stages)
            if (st.kind == StageKind::Store) stored.at(static_cast<size_t>(st.buffer)) = true;
        for (size_t i = 0; i < k->buffers.size(); ++i)
            (stored[i] ? io.writes : io.reads).push_back(k->buffers[i]);
    } else if (const auto* m = std::get_if<MatmulStep>(&step)) {
        io = {{m->a, m->b}, {m->out}};
    } else if (const auto* x = std::get_if<IndexStep>(&step)) {
        if (x->scatter)
            io = {{x->index, x->rows}, {x->dense}};
        else
            io = {{x->dense, x->index}, {x->rows}};
    } else {
        const auto& c = std::get<ConvStep>(step);
        switch (c.pass) {
        case ConvPass::Forward: io = {{c.x, c.w}, {c.y}}; break;
        case ConvPass::InputGrad: io = {{c.y, c.w}, {c.x}}; break;
        case ConvPass::WeightGrad: io = {{c.x, c.y}, {c.w}}; break;
        }
    }
    return io;
}

void for_each_buffer(Step& step, const std::function<void(int64_t&)>& f) {
    if (auto* k = std::get_if<KernelStep>(&step)) {
        for (int64_t& b : k->buffers) f(b);
    } else if (auto* m = std::get_if<MatmulStep>(&step)) {
        f(m->a), f(m->b), f(m->out);
    } else if (auto* x = std::get_if<IndexStep>(&step)) {
        f(x->dense), f(x->index), f(x->rows);
    } else {
        auto& c = std::get<ConvStep>(step);
        f(c.x), f(c.w), f(c.y);
    }
}

}  // namespace kiln::ir
