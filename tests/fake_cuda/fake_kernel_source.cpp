// Reading a module's CUDA C: the `extern "C" __global__` kernels with their parameter lists and
// launch bounds, and the launchers appended to the text the host compiler builds. The lexer is
// only as good as kernels need: comments, strings, identifiers, numbers and punctuation; the
// preprocessor's lines are skipped (macros in launch bounds are left to the compiler).
#include <cctype>
#include <cstring>

#include "fake_cuda.h"

namespace kiln_fake {
namespace {

/// `source` with comments replaced by spaces (newlines kept), strings left alone.
std::string strip_comments(const std::string& s) {
    std::string out = s;
    for (size_t i = 0; i < s.size();) {
        if (s[i] == '"' || s[i] == '\'') {
            char quote = s[i++];
            while (i < s.size() && s[i] != quote && s[i] != '\n') i += s[i] == '\\' ? 2 : 1;
            ++i;
        } else if (s.compare(i, 2, "//") == 0) {
            while (i < s.size() && s[i] != '\n') out[i++] = ' ';
        } else if (s.compare(i, 2, "/*") == 0) {
            size_t end = s.find("*/", i + 2);
            end = end == std::string::npos ? s.size() : end + 2;
            for (; i < end; ++i)
                if (out[i] != '\n') out[i] = ' ';
        } else {
            ++i;
        }
    }
    return out;
}

bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

/// Tokens of comment-free source outside preprocessor lines.
std::vector<std::string> tokenize(const std::string& s) {
    std::vector<std::string> out;
    bool line_start = true;
    for (size_t i = 0; i < s.size();) {
        char c = s[i];
        if (c == '\n') {
            line_start = true;
            ++i;
        } else if (std::isspace(static_cast<unsigned char>(c))) {
            ++i;
        } else if (c == '#' && line_start) {  // a directive, with its continuation lines
            while (i < s.size() && s[i] != '\n') i += s[i] == '\\' ? 2 : 1;
        } else if (ident_start(c) || std::isdigit(static_cast<unsigned char>(c))) {
            size_t j = i;
            while (j < s.size() && (ident_char(s[j]) || s[j] == '.')) ++j;
            out.push_back(s.substr(i, j - i));
            i = j;
            line_start = false;
        } else if (c == '"' || c == '\'') {
            size_t j = i + 1;
            while (j < s.size() && s[j] != c && s[j] != '\n') j += s[j] == '\\' ? 2 : 1;
            out.push_back(s.substr(i, j + 1 - i));
            i = j + 1;
            line_start = false;
        } else {
            out.push_back(std::string(1, c));
            ++i;
            line_start = false;
        }
    }
    return out;
}

bool is_identifier(const std::string& t) { return !t.empty() && ident_start(t[0]); }

/// Index of the token after the bracketed group opened at t[open].
size_t skip_group(const std::vector<std::string>& t, size_t open) {
    int depth = 0;
    for (size_t i = open; i < t.size(); ++i) {
        if (t[i] == "(" || t[i] == "[" || t[i] == "{") ++depth;
        if (t[i] == ")" || t[i] == "]" || t[i] == "}") --depth;
        if (depth == 0) return i + 1;
    }
    return t.size();
}

/// Tokens [begin, end) separated by single spaces ("const float *").
std::string join(const std::vector<std::string>& t, size_t begin, size_t end) {
    std::string s;
    for (size_t i = begin; i < end; ++i) s += (s.empty() ? "" : " ") + t[i];
    return s;
}

/// Words that make up a type name: a parameter ending in one of them has no name.
bool type_word(const std::string& w) {
    static const char* kWords[] = {"void",  "bool",     "char",   "short",        "int",
                                   "long",  "float",    "double", "unsigned",     "signed",
                                   "const", "volatile", "size_t", "__restrict__", "__restrict"};
    for (const char* k : kWords)
        if (w == k) return true;
    return false;
}

/// Fills `k`'s parameters from tokens [begin, end) (inside the parentheses).
void parse_params(const std::vector<std::string>& t, size_t begin, size_t end, KernelInfo& k) {
    std::vector<std::vector<std::string>> params(1);
    int depth = 0;
    for (size_t i = begin; i < end; ++i) {
        if (t[i] == "(" || t[i] == "[" || t[i] == "<") ++depth;
        if (t[i] == ")" || t[i] == "]" || t[i] == ">") --depth;
        if (t[i] == "," && depth == 0) {
            params.emplace_back();
            continue;
        }
        if (t[i] != "__restrict__" && t[i] != "__restrict") params.back().push_back(t[i]);
    }
    if (params.size() == 1 &&
        (params[0].empty() || (params[0].size() == 1 && params[0][0] == "void")))
        return;
    for (const std::vector<std::string>& p : params) {
        bool named = p.size() > 1 && is_identifier(p.back()) && !type_word(p.back());
        size_t type_end = named ? p.size() - 1 : p.size();
        k.param_types.push_back(join(p, 0, type_end));
        k.param_names.push_back(named ? p.back() : "");
    }
}

}  // namespace

std::vector<KernelInfo> find_kernels(const std::string& source) {
    std::vector<std::string> t = tokenize(strip_comments(source));
    std::vector<KernelInfo> out;
    for (size_t g = 2; g < t.size(); ++g) {
        // Only C linkage gives the name cuModuleGetFunction is asked for.
        if (t[g] != "__global__" || t[g - 1] != "\"C\"" || t[g - 2] != "extern") continue;
        KernelInfo k;
        size_t i = g + 1;
        while (i + 1 < t.size()) {
            if (t[i] == "__launch_bounds__" && t[i + 1] == "(") {
                size_t end = skip_group(t, i + 1), arg_end = i + 2;
                for (int depth = 0; arg_end < end - 1; ++arg_end) {
                    if (t[arg_end] == "(") ++depth;
                    if (t[arg_end] == ")") --depth;
                    if (t[arg_end] == "," && depth == 0) break;
                }
                k.launch_bounds = join(t, i + 2, arg_end);
                i = end;
            } else if (t[i] == "__attribute__" && t[i + 1] == "(") {
                i = skip_group(t, i + 1);
            } else if (is_identifier(t[i]) && t[i + 1] == "(") {
                k.name = t[i];
                size_t end = skip_group(t, i + 1);
                parse_params(t, i + 2, end - 1, k);
                // A declaration (";") defines nothing; the definition follows with "{".
                if (end < t.size() && t[end] == "{") {
                    bool seen = false;
                    for (const KernelInfo& o : out) seen = seen || o.name == k.name;
                    if (!seen) out.push_back(k);
                }
                break;
            } else {
                ++i;
            }
        }
    }
    return out;
}

bool needs_fibers(const std::string& source) {
    std::string s = strip_comments(source);
    for (const char* w : {"__syncthreads", "__shfl", "__syncwarp", "__ballot_sync", "__any_sync",
                          "__all_sync", "__activemask"})
        if (s.find(w) != std::string::npos) return true;
    return false;
}

std::string module_text(const std::string& source, const std::vector<KernelInfo>& kernels) {
    std::string s = source;
    if (!s.empty() && s.back() != '\n') s += '\n';
    s += "\n// ---- launchers added by the Kiln fake CUDA driver (tests/fake_cuda)\n";
    for (const KernelInfo& k : kernels) {
        s += "extern \"C\" __attribute__((visibility(\"default\"))) void " + k.name +
             "__fake_launch(void** p) {\n    " + k.name + "(";
        for (size_t i = 0; i < k.param_types.size(); ++i) {
            if (i) s += ",\n        ";
            s += "*(" + k.param_types[i] + "*)p[" + std::to_string(i) + "]";
        }
        s += ");\n}\n";
        s += "extern \"C\" __attribute__((visibility(\"default\"))) int " + k.name +
             "__fake_bounds() { return (int)(" +
             (k.launch_bounds.empty() ? std::string("1024") : k.launch_bounds) + "); }\n";
    }
    return s;
}

}  // namespace kiln_fake
