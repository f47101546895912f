#include "ir/parser.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>

#include <fmt/format.h>

#include "ir/verify.h"
#include "kiln/error.h"

namespace kiln::ir {
namespace {

/// A 1-based source position.
struct Loc {
    int line = 1;
    int col = 1;
};

/// One `key=value` of an attribute list; value is an integer or a list of integers.
struct AttrEntry {
    std::string key;
    Loc key_loc, value_loc;
    bool is_list = false;
    std::vector<int64_t> values;
};

bool is_word_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_word_char(char c) { return is_word_start(c) || is_digit(c); }
bool is_name_char(char c) { return is_word_char(c) || c == '.'; }

/// One parameter of an attribute struct as text names it, and where its value goes.
struct AttrKey {
    const char* name;
    bool is_list;
    int64_t* scalar = nullptr;
    std::vector<int64_t>* list = nullptr;
    bool optional = false;  ///< may be left out: keeps the struct's default
};

// The text names of each attribute kind's fields (the printer writes the same names).
// InputAttr and ConstAttr have none: their value follows the op name.
std::vector<AttrKey> attr_keys(AxisAttr& a) { return {{"axis", false, &a.axis}}; }
std::vector<AttrKey> attr_keys(AxesAttr& a) { return {{"axes", true, nullptr, &a.axes}}; }
std::vector<AttrKey> attr_keys(PermuteAttr& a) { return {{"perm", true, nullptr, &a.perm}}; }
std::vector<AttrKey> attr_keys(SliceAttr& a) {
    return {{"start", true, nullptr, &a.start}, {"step", true, nullptr, &a.step}};
}
std::vector<AttrKey> attr_keys(PadAttr& a) {
    return {{"before", true, nullptr, &a.before}, {"after", true, nullptr, &a.after}};
}
std::vector<AttrKey> attr_keys(VarAttr& a) {
    // The extent is optional so hand-written kernels may leave it out (0: unknown).
    return {{"index", false, &a.index}, {"extent", false, &a.extent, nullptr, true}};
}
std::vector<AttrKey> attr_keys(LoadAttr& a) { return {{"buffer", false, &a.buffer}}; }
std::vector<AttrKey> attr_keys(StageAttr& a) { return {{"stage", false, &a.stage}}; }
std::vector<AttrKey> attr_keys(LeafAttr& a) { return {{"id", false, &a.id}}; }
std::vector<AttrKey> attr_keys(WindowAttr& a) {
    return {{"axis", false, &a.axis},
            {"size", false, &a.size},
            {"stride", false, &a.stride},
            {"dilation", false, &a.dilation}};
}
std::vector<AttrKey> attr_keys(RandomAttr& a) { return {{"word", false, &a.word}}; }
std::vector<AttrKey> attr_keys(IndexAttr& a) {
    return {{"axis", false, &a.axis}, {"site", false, &a.site}};
}
std::vector<AttrKey> attr_keys(ConvAttr& a) {
    return {{"stride", true, nullptr, &a.stride},
            {"padding", true, nullptr, &a.padding},
            {"dilation", true, nullptr, &a.dilation},
            {"groups", false, &a.groups}};
}
template <class T>
std::vector<AttrKey> attr_keys(T&) {
    return {};
}

/// A default-constructed Attr holding alternative `k`.
template <size_t... I>
Attr attr_with_index(size_t k, std::index_sequence<I...>) {
    Attr a;
    ((k == I ? (void)a.emplace<I>() : (void)0), ...);
    return a;
}

/// A hand-written recursive-descent parser over the whole text. Statements are one per line;
/// blanks and `#` comments may appear anywhere. Positions are tracked while scanning so every
/// error can name its line and column.
class Parser {
public:
    Parser(std::string_view text, std::string_view file) : text_(text), file_(file) {}

    std::vector<NodeRef> run() {
        for (;;) {
            skip_blanks();
            if (at_end()) fail(loc(), "missing 'return' at end of input");
            if (peek() == '\n') {
                next_line();
                continue;
            }
            if (peek() == '%') {
                parse_definition();
                continue;
            }
            Loc l = loc();
            if (word_ahead() == "return") break;
            fail(l, "expected a definition '%name = ...' or 'return', found " + describe_next());
        }
        pos_ += 6;  // "return"
        std::vector<NodeRef> roots;
        skip_blanks();
        if (!at_eol()) {
            if (peek() != '%')
                fail(loc(), "expected a value after 'return', found " + describe_next());
            roots = parse_operands();
        }
        expect_eol();
        // Only blank lines and comments may follow the root list.
        for (;;) {
            skip_blanks();
            if (at_end()) break;
            if (peek() != '\n') fail(loc(), "unexpected text after 'return'");
            next_line();
        }
        return roots;
    }

private:
    // ---- scanning

    [[noreturn]] void fail(Loc l, const std::string& what) const {
        throw ParseError(fmt::format("{}:{}:{}: error: {}", file_, l.line, l.col, what));
    }
    Loc loc() const { return {line_, static_cast<int>(pos_ - line_start_) + 1}; }
    bool at_end() const { return pos_ >= text_.size(); }
    char peek() const { return at_end() ? '\0' : text_[pos_]; }
    void next_line() {
        ++pos_;
        ++line_;
        line_start_ = pos_;
    }
    /// Skips spaces, tabs, carriage returns and a comment up to (not over) the newline.
    void skip_blanks() {
        while (!at_end()) {
            char c = peek();
            if (c == ' ' || c == '\t' || c == '\r') {
                ++pos_;
            } else if (c == '#') {
                while (!at_end() && peek() != '\n') ++pos_;
            } else {
                break;
            }
        }
    }
    bool at_eol() {
        skip_blanks();
        return at_end() || peek() == '\n';
    }
    void expect_eol() {
        if (!at_eol()) fail(loc(), "expected end of line, found " + describe_next());
    }
    /// The identifier starting at the cursor ("" if none), without consuming it.
    std::string_view word_ahead() const {
        size_t e = pos_;
        if (e < text_.size() && is_word_start(text_[e]))
            while (e < text_.size() && is_word_char(text_[e])) ++e;
        return text_.substr(pos_, e - pos_);
    }
    std::string word() {
        std::string_view w = word_ahead();
        pos_ += w.size();
        return std::string(w);
    }
    /// A printable description of the next token for "expected X, found Y" messages.
    std::string describe_next() const {
        if (at_end()) return "end of input";
        if (peek() == '\n' || peek() == '\r') return "end of line";
        size_t e = pos_;
        if (is_name_char(text_[e]) || text_[e] == '%' || text_[e] == '-') {
            ++e;
            while (e < text_.size() && is_name_char(text_[e])) ++e;
        } else {
            e += std::max<size_t>(1, utf8_length(text_.substr(pos_)));  // a whole character
        }
        return quoted(text_.substr(pos_, e - pos_));
    }
    void expect(char c, const char* context) {
        skip_blanks();
        if (peek() != c)
            fail(loc(), fmt::format("expected '{}' {}, found {}", c, context, describe_next()));
        ++pos_;
    }
    /// An optionally negative decimal integer.
    int64_t parse_int(const char* what) {
        skip_blanks();
        Loc l = loc();
        size_t b = pos_, e = pos_;
        if (e < text_.size() && text_[e] == '-') ++e;
        if (e >= text_.size() || !is_digit(text_[e]))
            fail(l, fmt::format("expected {}, found {}", what, describe_next()));
        while (e < text_.size() && is_word_char(text_[e])) ++e;
        int64_t v = 0;
        auto [p, ec] = std::from_chars(text_.data() + b, text_.data() + e, v);
        std::string tok(text_.substr(b, e - b));
        if (ec == std::errc::result_out_of_range) fail(l, "integer '" + tok + "' out of range");
        if (ec != std::errc() || p != text_.data() + e) fail(l, "invalid integer '" + tok + "'");
        pos_ = e;
        return v;
    }
    /// `[a, b, ...]` (possibly empty).
    std::vector<int64_t> parse_int_list(const char* what) {
        expect('[', what);
        std::vector<int64_t> v;
        skip_blanks();
        if (peek() == ']') {
            ++pos_;
            return v;
        }
        for (;;) {
            v.push_back(parse_int("an integer"));
            skip_blanks();
            if (peek() == ']') break;
            if (peek() != ',') fail(loc(), "expected ',' or ']' in list, found " + describe_next());
            ++pos_;
        }
        ++pos_;
        return v;
    }

    // ---- statements

    std::string parse_value_name() {
        size_t b = pos_++;  // '%'
        while (!at_end() && is_name_char(peek())) ++pos_;
        if (pos_ == b + 1) fail(loc(), "expected a value name after '%', found " + describe_next());
        return std::string(text_.substr(b, pos_ - b));
    }

    /// `%a, %b, ...`: at least one value, each defined earlier.
    std::vector<NodeRef> parse_operands() {
        std::vector<NodeRef> out;
        for (;;) {
            skip_blanks();
            Loc l = loc();
            if (peek() != '%') fail(l, "expected a value '%name', found " + describe_next());
            std::string name = parse_value_name();
            auto it = values_.find(name);
            if (it == values_.end()) fail(l, "use of undefined value '" + name + "'");
            out.push_back(it->second);
            skip_blanks();
            if (peek() != ',') return out;
            ++pos_;
        }
    }

    void parse_definition() {
        Loc start = loc();
        std::string name = parse_value_name();
        if (values_.count(name)) fail(start, "redefinition of value '" + name + "'");
        expect('=', ("after '" + name + "'").c_str());
        skip_blanks();
        Loc op_loc = loc();
        std::string op_text = word();
        if (op_text.empty()) fail(op_loc, "expected an op name, found " + describe_next());
        Op op;
        if (!parse_op(op_text, op)) fail(op_loc, "unknown op '" + op_text + "'");

        Attr attr = NoAttr{};
        std::vector<NodeRef> inputs;
        std::string literal;
        Loc literal_loc;
        if (op == Op::Input) {
            attr = InputAttr{parse_int("an input id (an integer)"), nullptr};
        } else if (op == Op::Const) {
            skip_blanks();
            literal_loc = loc();
            size_t b = pos_;
            while (!at_end() && (is_name_char(peek()) || peek() == '-' || peek() == '+' ||
                                 peek() == '(' || peek() == ')'))
                ++pos_;
            literal = std::string(text_.substr(b, pos_ - b));
            if (literal.empty())
                fail(literal_loc, "expected a constant value, found " + describe_next());
        } else {
            skip_blanks();
            if (peek() == '%') inputs = parse_operands();
        }
        int arity = op_arity(op);
        if (arity >= 0 && inputs.size() != static_cast<size_t>(arity))
            fail(op_loc, fmt::format("{} expects {} operand{}, got {}", op_text, arity,
                                     arity == 1 ? "" : "s", inputs.size()));

        std::vector<AttrEntry> entries;
        skip_blanks();
        Loc attr_loc = loc();
        if (peek() == '{') entries = parse_attr_list();

        expect(':', "before the result type");
        skip_blanks();
        Loc type_loc = loc();
        std::string dtype_text = word();
        if (dtype_text.empty()) fail(type_loc, "expected a dtype, found " + describe_next());
        DType dtype;
        if (!parse_dtype(dtype_text, dtype)) fail(type_loc, "unknown dtype '" + dtype_text + "'");
        skip_blanks();
        Loc shape_loc = loc();
        Shape shape = parse_int_list("after the dtype");
        for (int64_t d : shape)
            if (d < 0) fail(shape_loc, "negative dimension in shape " + shape_str(shape));
        if (std::string problem = shape_problem(shape, dtype); !problem.empty())
            fail(shape_loc, problem);
        expect_eol();

        if (op == Op::Const) attr = parse_const(literal, literal_loc, dtype);
        if (op != Op::Input && op != Op::Const)
            attr = build_attr(op, op_text, op_loc, attr_loc, entries);
        else if (!entries.empty())
            fail(entries[0].key_loc,
                 fmt::format("unknown attribute '{}' for {}", entries[0].key, op_text));

        NodeRef node = Node::make(op, dtype, std::move(shape), std::move(inputs), std::move(attr));
        if (std::string msg = check_node(*node); !msg.empty()) fail(start, msg);
        values_.emplace(std::move(name), std::move(node));
    }

    std::vector<AttrEntry> parse_attr_list() {
        ++pos_;  // '{'
        std::vector<AttrEntry> entries;
        skip_blanks();
        if (peek() == '}') {
            ++pos_;
            return entries;
        }
        for (;;) {
            skip_blanks();
            AttrEntry e;
            e.key_loc = loc();
            e.key = word();
            if (e.key.empty())
                fail(e.key_loc, "expected an attribute name, found " + describe_next());
            for (const AttrEntry& other : entries)
                if (other.key == e.key) fail(e.key_loc, "duplicate attribute '" + e.key + "'");
            expect('=', ("after attribute '" + e.key + "'").c_str());
            skip_blanks();
            e.value_loc = loc();
            if (peek() == '[') {
                e.is_list = true;
                e.values = parse_int_list("to start a list");
            } else {
                e.values = {parse_int("an integer or a list of integers")};
            }
            entries.push_back(std::move(e));
            skip_blanks();
            if (peek() == '}') break;
            if (peek() != ',')
                fail(loc(), "expected ',' or '}' in attribute list, found " + describe_next());
            ++pos_;
        }
        ++pos_;
        return entries;
    }

    /// Turns `key=value` entries into the op's typed attribute, checking names and kinds.
    Attr build_attr(Op op, const std::string& op_text, Loc op_loc, Loc attr_loc,
                    const std::vector<AttrEntry>& entries) const {
        Attr attr = attr_with_index(expected_attr_index(op),
                                    std::make_index_sequence<std::variant_size_v<Attr>>{});
        std::vector<AttrKey> keys = std::visit([](auto& a) { return attr_keys(a); }, attr);
        std::vector<const AttrEntry*> found(keys.size(), nullptr);
        for (const AttrEntry& e : entries) {
            size_t k = 0;
            while (k < keys.size() && e.key != keys[k].name) ++k;
            if (k == keys.size())
                fail(e.key_loc, fmt::format("unknown attribute '{}' for {}", e.key, op_text));
            if (e.is_list != keys[k].is_list)
                fail(e.value_loc,
                     fmt::format("attribute '{}' must be {}", e.key,
                                 keys[k].is_list ? "a list of integers" : "an integer"));
            found[k] = &e;
        }
        for (size_t k = 0; k < keys.size(); ++k) {
            if (!found[k] && keys[k].optional) continue;
            if (!found[k])
                fail(entries.empty() ? op_loc : attr_loc,
                     fmt::format("{} needs attribute '{}'", op_text, keys[k].name));
            if (keys[k].is_list)
                *keys[k].list = found[k]->values;
            else
                *keys[k].scalar = found[k]->values[0];
        }
        return attr;
    }

    /// The constant's literal read for its dtype. f32 literals are read as floats so that the
    /// printer's shortest float text comes back bit-exact (and hand-written `0.1` means 0.1f,
    /// as make_const would store it).
    ConstAttr parse_const(const std::string& lit, Loc l, DType dtype) const {
        ConstAttr c;
        const char* b = lit.data();
        const char* e = lit.data() + lit.size();
        if (is_floating(dtype)) {
            std::optional<double> special = special_float(lit, l);
            if (special) {
                c.f = dtype == DType::Float32 && !std::isnan(*special)
                          ? static_cast<double>(static_cast<float>(*special))
                          : *special;
                return c;
            }
            std::from_chars_result r;
            if (dtype == DType::Float32) {
                float f = 0;
                r = std::from_chars(b, e, f, std::chars_format::general);
                c.f = f;
            } else {
                r = std::from_chars(b, e, c.f, std::chars_format::general);
            }
            if (r.ec == std::errc::result_out_of_range)
                fail(l, fmt::format("constant '{}' out of range for {}", lit, dtype_name(dtype)));
            if (r.ec != std::errc() || r.ptr != e)
                fail(l, fmt::format("invalid {} constant '{}'", dtype_name(dtype), lit));
            return c;
        }
        if (dtype == DType::Bool && (lit == "true" || lit == "false")) {
            c.i = lit == "true";
            return c;
        }
        auto r = std::from_chars(b, e, c.i);
        if (r.ec == std::errc::result_out_of_range)
            fail(l, fmt::format("constant '{}' out of range for {}", lit, dtype_name(dtype)));
        if (r.ec != std::errc() || r.ptr != e)
            fail(l, fmt::format("invalid {} constant '{}'", dtype_name(dtype), lit));
        if (dtype == DType::Int32 && (c.i < std::numeric_limits<int32_t>::min() ||
                                      c.i > std::numeric_limits<int32_t>::max()))
            fail(l, fmt::format("constant '{}' out of range for i32", lit));
        if (dtype == DType::Bool && c.i != 0 && c.i != 1)
            fail(l, fmt::format("bool constant must be 0 or 1, got '{}'", lit));
        return c;
    }

    /// inf, -inf, nan, -nan and nan(0xBITS); nullopt for an ordinary number.
    std::optional<double> special_float(const std::string& lit, Loc l) const {
        constexpr double kInf = std::numeric_limits<double>::infinity();
        double qnan = std::numeric_limits<double>::quiet_NaN();
        if (lit == "inf" || lit == "+inf") return kInf;
        if (lit == "-inf") return -kInf;
        if (lit == "nan") return qnan;
        if (lit == "-nan") return -qnan;
        if (lit.rfind("nan(0x", 0) == 0 && lit.back() == ')') {
            uint64_t bits = 0;
            const char* b = lit.data() + 6;
            const char* e = lit.data() + lit.size() - 1;
            auto r = std::from_chars(b, e, bits, 16);
            double v = std::bit_cast<double>(bits);
            if (r.ec != std::errc() || r.ptr != e || b == e || !std::isnan(v))
                fail(l, "invalid NaN bit pattern '" + lit + "'");
            return v;
        }
        return std::nullopt;
    }

    std::string_view text_, file_;
    size_t pos_ = 0;
    int line_ = 1;
    size_t line_start_ = 0;
    std::unordered_map<std::string, NodeRef> values_;
};

}  // namespace

size_t utf8_length(std::string_view text) {
    if (text.empty()) return 0;
    auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
    unsigned char c = byte(0);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || text.size() < n) return 0;
    uint32_t cp = n == 1 ? c : c & (0x7F >> n);
    for (size_t i = 1; i < n; ++i) {
        if ((byte(i) & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (byte(i) & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not valid UTF-8.
    static const uint32_t min_of_length[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_of_length[n] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return 0;
    return n;
}

std::string quoted(std::string_view text) {
    std::string out = "'";
    for (size_t i = 0; i < text.size();) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        size_t n = utf8_length(text.substr(i));
        if (c >= 0x20 && c != 0x7F && n > 0) {
            out.append(text.substr(i, n));
            i += n;
            continue;
        }
        out += fmt::format("\\x{:02x}", c);
        ++i;
    }
    return out + "'";
}

std::vector<NodeRef> parse_graph(std::string_view text, std::string_view filename) {
    return Parser(text, filename).run();
}

}  // namespace kiln::ir
