#include "ir/parser.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>

#include <fmt/format.h>

#include "ir/verify.h"
#include "kiln/error.h"

namespace kiln::ir {
namespace {

/// A source position: 1-based line and column (in bytes) and the byte offset in the text.
struct Loc {
    size_t line = 1;
    size_t col = 1;
    size_t offset = 0;
};

/// How many columns of a source line an error shows around its caret (longer lines are cut,
/// marked with "...").
constexpr size_t kExcerptColumns = 120;
/// Tab stops of an echoed line.
constexpr size_t kTabWidth = 4;
/// The longest token (a name, a number) a message repeats; longer ones are cut, "..." marking it.
constexpr size_t kMaxToken = 64;
/// The longest message (before the source line); a longer one (a verifier message naming a huge
/// attribute list) is cut.
constexpr size_t kMaxMessage = 1024;

/// The length of the printable UTF-8 character starting `text`, or 0 when it starts with a
/// control character (C0, DEL or C1: a terminal may act on those) or is not valid UTF-8.
size_t printable_length(std::string_view text) {
    size_t n = utf8_length(text);
    if (n == 0) return 0;
    unsigned char c = static_cast<unsigned char>(text[0]);
    if (n == 1 && (c < 0x20 || c == 0x7F)) return 0;
    if (n == 2 && c == 0xC2 && static_cast<unsigned char>(text[1]) < 0xA0) return 0;  // U+0080..9F
    return n;
}

/// `text` cut to at most `max` bytes (and "..."), on a UTF-8 character boundary.
std::string clip(std::string_view text, size_t max = kMaxToken) {
    if (text.size() <= max) return std::string(text);
    size_t n = max - 3;
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
    return std::string(text.substr(0, n)) + "...";
}

/// The source line holding byte `offset` of `text`, indented, and a caret under that byte, as
/// clang prints them: "\n    LINE\n    ^". Control characters and bytes that are not UTF-8 are
/// shown escaped as quoted() does (tabs become spaces), so a binary file never puts raw bytes
/// on a terminal; the caret is placed by the escaped text's width. A line wider than
/// kExcerptColumns is cut around the caret. Empty when the line is empty.
std::string source_excerpt(std::string_view text, size_t offset) {
    offset = std::min(offset, text.size());
    size_t begin = offset == 0 ? 0 : text.rfind('\n', offset - 1);
    begin = begin == std::string_view::npos || offset == 0 ? 0 : begin + 1;
    size_t end = text.find('\n', offset);
    if (end == std::string_view::npos) end = text.size();
    if (end > begin && text[end - 1] == '\r') --end;  // CRLF line ends
    if (end == begin) return "";
    // Every shown column takes at most 4 bytes, so bytes further than this from the caret are
    // never shown: a huge line costs no more than a short one.
    constexpr size_t kReach = 4 * kExcerptColumns + 8;
    size_t first = offset - begin > kReach ? offset - kReach : begin;
    while (first > begin && first < offset &&
           (static_cast<unsigned char>(text[first]) & 0xC0) == 0x80)
        ++first;  // start on a character, not inside one
    size_t last = end > offset && end - offset > kReach ? offset + kReach : end;

    // The line as display units: one character (or escaped byte) each, with its width.
    struct Unit {
        size_t offset;
        std::string text;
        size_t width;
    };
    std::vector<Unit> units;
    size_t column = 0;
    for (size_t i = first; i < last;) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        size_t n = printable_length(text.substr(i, last - i));
        Unit u{i, {}, 0};
        if (c == '\t') {
            u.width = kTabWidth - column % kTabWidth;
            u.text.assign(u.width, ' ');
            n = 1;
        } else if (n > 0) {
            u.text.assign(text.substr(i, n));
            u.width = 1;  // wide characters can only follow the caret: they never shift it
        } else {
            u.text = fmt::format("\\x{:02x}", c);
            u.width = u.text.size();
            n = 1;
        }
        column += u.width;
        units.push_back(std::move(u));
        i += n;
    }
    // The unit under the caret (units.size(): past the end of the line).
    size_t caret = 0;
    while (caret < units.size() && units[caret].offset < offset) ++caret;
    size_t caret_col = 0;
    for (size_t k = 0; k < caret; ++k) caret_col += units[k].width;

    // The shown units [from, to): the whole line when it fits, else a window that holds the
    // caret with some context on its left.
    size_t from = 0, to = units.size();
    size_t total = column;
    bool cut_left = first > begin, cut_right = last < end;
    if (total > kExcerptColumns || cut_left || cut_right) {
        size_t lead = caret_col > kExcerptColumns / 2 ? caret_col - kExcerptColumns / 2 : 0;
        size_t skipped = 0;
        while (from < caret && skipped + units[from].width <= lead) skipped += units[from++].width;
        size_t width = 0;
        to = from;
        while (to < units.size() && width + units[to].width <= kExcerptColumns)
            width += units[to++].width;
        // Fill the window from the left when the line ends early.
        while (from > 0 && width + units[from - 1].width <= kExcerptColumns)
            width += units[--from].width;
        cut_left = cut_left || from > 0;
        cut_right = cut_right || to < units.size();
    }
    std::string line = cut_left ? "..." : "";
    size_t pad = line.size();
    for (size_t k = from; k < to; ++k) {
        if (k < caret) pad += units[k].width;
        line += units[k].text;
    }
    if (cut_right) line += "...";
    return "\n    " + line + "\n    " + std::string(pad, ' ') + "^";
}

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
        throw ParseError(fmt::format("{}:{}:{}: error: {}{}", file_, l.line, l.col,
                                     clip(what, kMaxMessage), source_excerpt(text_, l.offset)));
    }
    Loc loc() const { return {line_, pos_ - line_start_ + 1, pos_}; }
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
        return quoted(clip(text_.substr(pos_, e - pos_)));
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
        std::string tok = clip(text_.substr(b, e - b));
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
            if (it == values_.end()) fail(l, "use of undefined value '" + clip(name) + "'");
            out.push_back(it->second);
            skip_blanks();
            if (peek() != ',') return out;
            ++pos_;
        }
    }

    void parse_definition() {
        Loc start = loc();
        std::string name = parse_value_name();
        if (values_.count(name)) fail(start, "redefinition of value '" + clip(name) + "'");
        expect('=', ("after '" + clip(name) + "'").c_str());
        skip_blanks();
        Loc op_loc = loc();
        std::string op_text = word();
        if (op_text.empty()) fail(op_loc, "expected an op name, found " + describe_next());
        Op op;
        if (!parse_op(op_text, op)) fail(op_loc, "unknown op '" + clip(op_text) + "'");

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
        if (!parse_dtype(dtype_text, dtype))
            fail(type_loc, "unknown dtype '" + clip(dtype_text) + "'");
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
                 fmt::format("unknown attribute '{}' for {}", clip(entries[0].key), op_text));

        NodeRef node = Node::make(op, dtype, std::move(shape), std::move(inputs), std::move(attr));
        if (std::string msg = check_node(*node); !msg.empty()) fail(start, msg);
        values_.emplace(std::move(name), std::move(node));
    }

    std::vector<AttrEntry> parse_attr_list() {
        ++pos_;  // '{'
        std::vector<AttrEntry> entries;
        std::unordered_set<std::string_view> seen;  // keys so far (views into the text)
        skip_blanks();
        if (peek() == '}') {
            ++pos_;
            return entries;
        }
        for (;;) {
            skip_blanks();
            AttrEntry e;
            e.key_loc = loc();
            std::string_view key = word_ahead();
            pos_ += key.size();
            e.key = std::string(key);
            if (e.key.empty())
                fail(e.key_loc, "expected an attribute name, found " + describe_next());
            if (!seen.insert(key).second)
                fail(e.key_loc, "duplicate attribute '" + clip(e.key) + "'");
            expect('=', ("after attribute '" + clip(e.key) + "'").c_str());
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
                fail(e.key_loc, fmt::format("unknown attribute '{}' for {}", clip(e.key), op_text));
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
                fail(l, fmt::format("constant '{}' out of range for {}", clip(lit),
                                    dtype_name(dtype)));
            if (r.ec != std::errc() || r.ptr != e)
                fail(l, fmt::format("invalid {} constant '{}'", dtype_name(dtype), clip(lit)));
            return c;
        }
        if (dtype == DType::Bool && (lit == "true" || lit == "false")) {
            c.i = lit == "true";
            return c;
        }
        auto r = std::from_chars(b, e, c.i);
        if (r.ec == std::errc::result_out_of_range)
            fail(l, fmt::format("constant '{}' out of range for {}", clip(lit), dtype_name(dtype)));
        if (r.ec != std::errc() || r.ptr != e)
            fail(l, fmt::format("invalid {} constant '{}'", dtype_name(dtype), clip(lit)));
        if (dtype == DType::Int32 && (c.i < std::numeric_limits<int32_t>::min() ||
                                      c.i > std::numeric_limits<int32_t>::max()))
            fail(l, fmt::format("constant '{}' out of range for i32", clip(lit)));
        if (dtype == DType::Bool && c.i != 0 && c.i != 1)
            fail(l, fmt::format("bool constant must be 0 or 1, got '{}'", clip(lit)));
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
                fail(l, "invalid NaN bit pattern '" + clip(lit) + "'");
            return v;
        }
        return std::nullopt;
    }

    std::string_view text_, file_;
    size_t pos_ = 0;
    size_t line_ = 1;
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
        size_t n = printable_length(text.substr(i));
        if (n > 0) {
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
