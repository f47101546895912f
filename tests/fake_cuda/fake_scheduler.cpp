// Running a grid on the host. Blocks run one after another. Without barriers or warp operations
// in the source a block's threads are plain calls in order; otherwise each thread is a fiber
// (64 KiB stack with a guard page, kept per host thread and reused across blocks and launches)
// and a small scheduler passes barriers:
// - __syncthreads*() completes when every unfinished thread of the block waits at it (CUDA wants
//   all threads there; counting only unfinished ones keeps early returns from deadlocking);
// - warp shuffles and votes complete when every unfinished thread of the warp (linear thread id
//   / 32) waits at one; other warps are not involved (Kiln's block reduction may have one warp
//   shuffle while the others wait at __syncthreads).
// Fibers start with makecontext/setcontext; afterwards they switch with _setjmp/_longjmp, which
// save no signal mask (swapcontext makes a system call per switch, too slow for the millions of
// switches a softmax makes).
#ifdef _FORTIFY_SOURCE
#undef _FORTIFY_SOURCE  // __longjmp_chk rejects jumps between stacks, which fibers are
#endif
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <setjmp.h>
#include <string>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "fake_cuda.h"

namespace kiln_fake {
namespace {

constexpr size_t kStackBytes = 64 * 1024;

enum class Status { Ready, AtBlockBarrier, AtWarpOp, Done };

struct Fiber {
    ucontext_t context;
    jmp_buf jump;
    void* mapping = nullptr;  // guard page + stack
    size_t mapping_bytes = 0;
    bool started = false;
    Status status = Status::Done;
    unsigned tid = 0;  // linear thread index in the block
    KilnFakeDim index{};
    int predicate = 0;  // this thread's __syncthreads_or/_and/_count argument
    ~Fiber() {
        if (mapping) munmap(mapping, mapping_bytes);
    }
};

/// A warp's exchange slots, double-buffered by generation: threads deposit into generation g's
/// buffer and read it after the release, which happens only once all have deposited; the next
/// exchange uses the other buffer, so a fast thread never overwrites what a slow one reads.
struct Warp {
    unsigned long long slots[2][32];
    unsigned deposited[2];
    unsigned generation;
};

struct Scheduler {
    jmp_buf jump;
    std::vector<std::unique_ptr<Fiber>> fibers;
    Fiber* current = nullptr;
    Function* function = nullptr;
    void** params = nullptr;
    KilnFakeState* state = nullptr;
    std::vector<Warp> warps;
    int barrier_count = 0, barrier_waiters = 0;  // of the barrier just released
    bool failed = false;
};

thread_local Scheduler t_scheduler;

/// The fiber's body: runs the kernel for whichever thread it is, then parks until reused.
void fiber_main() {
    Scheduler& s = t_scheduler;
    Fiber* self = s.current;
    for (;;) {
        s.function->launch(s.params);
        self->status = Status::Done;
        if (_setjmp(self->jump) == 0) _longjmp(s.jump, 1);
    }
}

/// Back to the scheduler; returns when the scheduler resumes this fiber.
__attribute__((noinline)) void park(Scheduler& s, Fiber& f) {
    if (_setjmp(f.jump) == 0) _longjmp(s.jump, 1);
}

/// Runs fiber `f` until it parks or finishes.
__attribute__((noinline)) void resume(Scheduler& s, Fiber& f) {
    s.current = &f;
    if (_setjmp(s.jump) == 0) {
        if (!f.started) {
            f.started = true;
            setcontext(&f.context);
        }
        _longjmp(f.jump, 1);
    }
}

/// (Re)initializes a fiber to start at fiber_main on its next resume.
void reset(Fiber& f) {
    getcontext(&f.context);
    size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    f.context.uc_stack.ss_sp = static_cast<char*>(f.mapping) + page;
    f.context.uc_stack.ss_size = f.mapping_bytes - page;
    f.context.uc_link = nullptr;
    makecontext(&f.context, fiber_main, 0);
    f.started = false;
}

/// At least `n` fibers in the pool; false when stacks cannot be mapped.
bool ensure_fibers(Scheduler& s, size_t n) {
    size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    while (s.fibers.size() < n) {
        auto f = std::make_unique<Fiber>();
        f->mapping_bytes = kStackBytes + page;
        f->mapping = mmap(nullptr, f->mapping_bytes, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (f->mapping == MAP_FAILED) {
            f->mapping = nullptr;
            return false;
        }
        mprotect(f->mapping, page, PROT_NONE);  // a stack overflow faults instead of corrupting
        reset(*f);
        s.fibers.push_back(std::move(f));
    }
    return true;
}

// ---- the hooks a module calls (through KilnFakeState)

int block_barrier(void* sp, int mode, int predicate) {
    Scheduler& s = *static_cast<Scheduler*>(sp);
    Fiber& f = *s.current;
    f.predicate = predicate;
    f.status = Status::AtBlockBarrier;
    park(s, f);
    switch (mode) {
    case 1: return s.barrier_count > 0;
    case 2: return s.barrier_count == s.barrier_waiters;
    case 3: return s.barrier_count;
    default: return 0;
    }
}

/// Deposits `value` in this warp's current buffer and waits for the warp; returns the buffer.
unsigned warp_wait(Scheduler& s, Fiber& f, unsigned long long value) {
    Warp& w = s.warps[f.tid / 32];
    unsigned buffer = w.generation & 1u, lane = f.tid % 32;
    w.slots[buffer][lane] = value;
    w.deposited[buffer] |= 1u << lane;
    f.status = Status::AtWarpOp;
    park(s, f);
    return buffer;
}

unsigned long long warp_exchange(void* sp, unsigned long long value, int src_lane) {
    Scheduler& s = *static_cast<Scheduler*>(sp);
    Fiber& f = *s.current;
    unsigned buffer = warp_wait(s, f, value);
    const Warp& w = s.warps[f.tid / 32];
    if (src_lane < 0 || src_lane > 31 || !((w.deposited[buffer] >> src_lane) & 1u)) return value;
    return w.slots[buffer][src_lane];
}

unsigned long long warp_vote(void* sp, int predicate) {
    Scheduler& s = *static_cast<Scheduler*>(sp);
    Fiber& f = *s.current;
    unsigned buffer = warp_wait(s, f, predicate != 0);
    const Warp& w = s.warps[f.tid / 32];
    unsigned ballot = 0;
    for (unsigned lane = 0; lane < 32; ++lane)
        if (((w.deposited[buffer] >> lane) & 1u) && w.slots[buffer][lane]) ballot |= 1u << lane;
    return (static_cast<unsigned long long>(w.deposited[buffer]) << 32) | ballot;
}

void fiber_trap(void* sp, const char* what) {
    Scheduler& s = *static_cast<Scheduler*>(sp);
    report("kernel " + s.function->info.name + ": " + what);
    s.failed = true;
    s.current->status = Status::Done;
    park(s, *s.current);  // never resumed: the launch is abandoned
}

/// Releases what can be released after every ready thread ran: whole warps waiting at a warp
/// operation, else the block barrier. False when nothing can move (all finished, or deadlock).
bool release(Scheduler& s, size_t n) {
    bool released = false;
    for (size_t w0 = 0; w0 < n; w0 += 32) {
        size_t alive = 0, waiting = 0, w1 = std::min(n, w0 + 32);
        for (size_t t = w0; t < w1; ++t) {
            alive += s.fibers[t]->status != Status::Done;
            waiting += s.fibers[t]->status == Status::AtWarpOp;
        }
        if (waiting == 0 || waiting != alive) continue;
        Warp& w = s.warps[w0 / 32];
        ++w.generation;
        w.deposited[w.generation & 1u] = 0;
        for (size_t t = w0; t < w1; ++t)
            if (s.fibers[t]->status == Status::AtWarpOp) s.fibers[t]->status = Status::Ready;
        released = true;
    }
    if (released) return true;
    int alive = 0, waiting = 0, count = 0;
    for (size_t t = 0; t < n; ++t) {
        const Fiber& f = *s.fibers[t];
        alive += f.status != Status::Done;
        waiting += f.status == Status::AtBlockBarrier;
        count += f.status == Status::AtBlockBarrier && f.predicate;
    }
    if (waiting == 0 || waiting != alive) return false;
    s.barrier_count = count;
    s.barrier_waiters = waiting;
    for (size_t t = 0; t < n; ++t)
        if (s.fibers[t]->status == Status::AtBlockBarrier) s.fibers[t]->status = Status::Ready;
    return true;
}

/// Why no thread can move: how many wait where.
std::string deadlock_report(const Scheduler& s, size_t n) {
    size_t block = 0, warp = 0, done = 0;
    for (size_t t = 0; t < n; ++t) {
        block += s.fibers[t]->status == Status::AtBlockBarrier;
        warp += s.fibers[t]->status == Status::AtWarpOp;
        done += s.fibers[t]->status == Status::Done;
    }
    return "kernel " + s.function->info.name + ": deadlock in block (" +
           std::to_string(s.state->block_idx.x) + ", " + std::to_string(s.state->block_idx.y) +
           ", " + std::to_string(s.state->block_idx.z) + "): " + std::to_string(block) +
           " threads wait at __syncthreads, " + std::to_string(warp) +
           " at warp operations whose warp has threads elsewhere, " + std::to_string(done) +
           " finished";
}

/// One block on fibers; false after a deadlock or a trap (the fibers are reset then).
bool run_block(Scheduler& s, size_t n) {
    for (size_t t = 0; t < n; ++t) s.fibers[t]->status = Status::Ready;
    for (Warp& w : s.warps) w = Warp{};
    for (;;) {
        for (size_t t = 0; t < n && !s.failed; ++t) {
            Fiber& f = *s.fibers[t];
            if (f.status != Status::Ready) continue;
            s.state->thread_idx = f.index;
            resume(s, f);
        }
        if (s.failed) break;
        if (release(s, n)) continue;
        bool all_done = true;
        for (size_t t = 0; t < n; ++t) all_done = all_done && s.fibers[t]->status == Status::Done;
        if (all_done) return true;
        report(deadlock_report(s, n));
        s.failed = true;
        break;
    }
    // Threads stopped mid-kernel (a trapped one counts as done): their stacks are abandoned and
    // every fiber starts afresh.
    for (size_t t = 0; t < n; ++t) reset(*s.fibers[t]);
    return false;
}

KilnFakeDim unflatten(size_t i, KilnFakeDim d) {
    return KilnFakeDim{static_cast<unsigned>(i % d.x), static_cast<unsigned>(i / d.x % d.y),
                       static_cast<unsigned>(i / d.x / d.y)};
}

CUresult run_fibers(Function& fn, KilnFakeDim grid, KilnFakeDim block, void** params) {
    Scheduler& s = t_scheduler;
    size_t n = static_cast<size_t>(block.x) * block.y * block.z;
    if (!ensure_fibers(s, n)) {
        report("cannot map fiber stacks for " + std::to_string(n) + " threads");
        return kLaunchOutOfResources;
    }
    s.function = &fn;
    s.params = params;
    s.state = fn.module->state;
    s.failed = false;
    s.warps.assign((n + 31) / 32, Warp{});
    for (size_t t = 0; t < n; ++t) {
        s.fibers[t]->tid = static_cast<unsigned>(t);
        s.fibers[t]->index = unflatten(t, block);
    }
    KilnFakeState& st = *s.state;
    st.scheduler = &s;
    st.block_barrier = block_barrier;
    st.warp_exchange = warp_exchange;
    st.warp_vote = warp_vote;
    st.trap = fiber_trap;
    for (unsigned z = 0; z < grid.z; ++z)
        for (unsigned y = 0; y < grid.y; ++y)
            for (unsigned x = 0; x < grid.x; ++x) {
                st.block_idx = KilnFakeDim{x, y, z};
                if (!run_block(s, n)) return kLaunchFailed;
            }
    return kSuccess;
}

// ---- plain calls, for kernels without barriers

thread_local jmp_buf t_trap_jump;

void serial_trap(void*, const char* what) {
    report(std::string("kernel trapped: ") + what);
    _longjmp(t_trap_jump, 1);
}

int no_barrier(void*, int, int) {
    report("a barrier was reached in a kernel run without fibers (needs_fibers missed it)");
    std::abort();
}
unsigned long long no_exchange(void*, unsigned long long, int) { return no_barrier(nullptr, 0, 0); }
unsigned long long no_vote(void*, int) { return no_barrier(nullptr, 0, 0); }

__attribute__((noinline)) void run_serial_blocks(Function& fn, KilnFakeDim grid, KilnFakeDim block,
                                                 void** params) {
    KilnFakeState& st = *fn.module->state;
    void (*launch)(void**) = fn.launch;
    for (unsigned z = 0; z < grid.z; ++z)
        for (unsigned y = 0; y < grid.y; ++y)
            for (unsigned x = 0; x < grid.x; ++x) {
                st.block_idx = KilnFakeDim{x, y, z};
                for (unsigned tz = 0; tz < block.z; ++tz)
                    for (unsigned ty = 0; ty < block.y; ++ty)
                        for (unsigned tx = 0; tx < block.x; ++tx) {
                            st.thread_idx = KilnFakeDim{tx, ty, tz};
                            launch(params);
                        }
            }
}

CUresult run_serial(Function& fn, KilnFakeDim grid, KilnFakeDim block, void** params) {
    KilnFakeState& st = *fn.module->state;
    st.scheduler = nullptr;
    st.block_barrier = no_barrier;
    st.warp_exchange = no_exchange;
    st.warp_vote = no_vote;
    st.trap = serial_trap;
    if (_setjmp(t_trap_jump) != 0) return kLaunchFailed;
    run_serial_blocks(fn, grid, block, params);
    return kSuccess;
}

}  // namespace

CUresult run_grid(Function& fn, KilnFakeDim grid, KilnFakeDim block, void** params) {
    fn.module->state->grid_dim = grid;
    fn.module->state->block_dim = block;
    return fn.module->fibers ? run_fibers(fn, grid, block, params)
                             : run_serial(fn, grid, block, params);
}

}  // namespace kiln_fake
