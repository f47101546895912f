// Loading and canonicalizing `.kir` files for the `kiln` tool.
#include "tools/cli_common.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <unordered_map>

#include <fmt/format.h>

#include "ir/op.h"
#include "ir/parser.h"
#include "ir/verify.h"

namespace kiln::cli {

using ir::Node;
using ir::NodeRef;

std::string read_file(const std::string& path) {
    if (path == "-") {
        std::string text((std::istreambuf_iterator<char>(std::cin)),
                         std::istreambuf_iterator<char>());
        if (std::cin.bad()) throw Error("cannot read <stdin>");
        return text;
    }
    // fopen succeeds on a directory on Linux; say what is wrong instead of failing to read.
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw Error(fmt::format("cannot open {}: {}", path, std::strerror(EISDIR)));
    errno = 0;
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) {
        throw Error(fmt::format("cannot open {}: {}", path, std::strerror(errno ? errno : ENOENT)));
    }
    std::string text;
    char chunk[65536];
    size_t got = 0;
    while ((got = std::fread(chunk, 1, sizeof chunk, f)) > 0) text.append(chunk, got);
    int read_errno = std::ferror(f) ? errno : 0;
    std::fclose(f);
    if (read_errno) throw Error(fmt::format("cannot read {}: {}", path, std::strerror(read_errno)));
    return text;
}

LoadedGraph load_graph(const std::string& path) {
    LoadedGraph g;
    g.filename = path == "-" ? "<stdin>" : path;
    std::string text = read_file(path);
    g.roots = ir::parse_graph(text, g.filename);
    // The parser checks each node as it builds it; the whole-graph verifier is cheap and keeps
    // the tool honest if the parser's checks and the verifier's ever drift apart.
    ir::verify_graph(g.roots);
    return g;
}

CanonicalGraph canonicalize(const LoadedGraph& g) {
    CanonicalGraph c;
    std::vector<const Node*> order = ir::topo_order(g.roots);
    std::vector<const Node*> inputs;
    for (const Node* n : order) {
        if (ir::op_category(n->op()) == ir::OpCategory::Loop) {
            throw ValueError(
                fmt::format("{}: '{}' is a loop-level op: only tensor-level graphs can be compiled "
                            "(loop IR appears inside lowered kernels, not in .kir graphs)",
                            g.filename, ir::op_name(n->op())));
        }
        if (n->op() == ir::Op::Input) inputs.push_back(n);
    }

    // Keep the file's numbering when it already is a permutation of 0..n-1.
    const int64_t count = static_cast<int64_t>(inputs.size());
    std::vector<const Node*> by_id(inputs.size(), nullptr);
    bool permutation = true;
    for (const Node* n : inputs) {
        int64_t id = n->attr_as<ir::InputAttr>().id;
        if (id < 0 || id >= count || by_id[static_cast<size_t>(id)]) {
            permutation = false;
            break;
        }
        by_id[static_cast<size_t>(id)] = n;
    }
    if (permutation) {
        c.roots = g.roots;
        for (const Node* n : by_id) {
            // Recover the owning reference from the graph: inputs are interned, so remaking the
            // node returns the very same object.
            c.placeholders.push_back(
                Node::make(ir::Op::Input, n->dtype(), n->shape(), {}, n->attr()));
            c.file_ids.push_back(n->attr_as<ir::InputAttr>().id);
        }
        return c;
    }

    // Renumber in order of first appearance and rebuild every node above an input.
    c.renumbered = true;
    std::unordered_map<const Node*, NodeRef> done;
    for (const Node* n : inputs) {
        NodeRef p = Node::make(ir::Op::Input, n->dtype(), n->shape(), {},
                               ir::InputAttr{static_cast<int64_t>(c.placeholders.size()), nullptr});
        done[n] = p;
        c.placeholders.push_back(p);
        c.file_ids.push_back(n->attr_as<ir::InputAttr>().id);
    }
    for (const Node* n : order) {
        if (done.count(n)) continue;
        std::vector<NodeRef> ins;
        ins.reserve(n->inputs().size());
        for (const NodeRef& in : n->inputs()) {
            auto it = done.find(in.get());
            ins.push_back(it != done.end() ? it->second : in);
        }
        done[n] = Node::make(n->op(), n->dtype(), n->shape(), std::move(ins), n->attr());
    }
    for (const NodeRef& r : g.roots) c.roots.push_back(done.at(r.get()));
    return c;
}

}  // namespace kiln::cli
