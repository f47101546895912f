#pragma once
/// Constants whose values vary from step to step become program inputs.
///
/// The program cache is keyed by graph structure, constants included: that keeps constants
/// foldable (gelu's 0.5, a `x * 0` that simplifies away). But user code that writes a changing
/// number into the graph (`w - lr * g` with a scheduled `lr`) would then compile every step.
/// So when a graph misses the cache and differs from one seen before only in some constants'
/// values, exactly those constants are lifted into 0-d input buffers, and the lifted graph is
/// compiled once and serves every later value: such a loop compiles at most twice (like
/// torch.compile's automatic dynamic shapes, for values).
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "ir/node.h"
#include "runtime/buffer.h"

namespace kiln::detail {

/// A new 1-element buffer holding constant node `c`'s value in its dtype (a 0-d input).
std::shared_ptr<runtime::Buffer> constant_buffer(const ir::Node& c);

class ConstLifter {
public:
    /// For a canonical graph that missed the program cache: the graph to run instead, with the
    /// varying constants replaced by placeholders numbered after `inputs` (their 0-d buffers
    /// are appended to `inputs`), or an empty vector when nothing is lifted (compile `graph`
    /// as it is). Remembers graphs for later comparisons. Thread-safe.
    std::vector<ir::NodeRef> lift(const std::vector<ir::NodeRef>& graph,
                                  std::vector<std::shared_ptr<runtime::Buffer>>& inputs);

private:
    /// A graph seen before and which of its constants (in traversal order) vary.
    struct Template {
        std::vector<ir::NodeRef> reference;
        std::vector<bool> lifted;
    };
    static constexpr size_t kMaxTemplates = 1024;
    std::mutex mutex_;
    std::unordered_map<size_t, Template> templates_;  ///< by structure hash, values ignored
};

}  // namespace kiln::detail
