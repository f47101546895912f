// Compiled only with KILN_LLVM_STATIC=ON (see CMakeLists.txt), into the static library kiln_fmt.
//
// Debian 12's libfmt-dev ships libfmt.so but no libfmt.a, and fmt header-only costs ~2.5 s of
// compile time in each of the ~50 files that include <fmt/format.h>. This file is fmt 9.1's
// src/format.cc (MIT licence, (c) Victor Zverovich and fmt contributors), which Debian does not
// ship either: format-inl.h, included without FMT_HEADER_ONLY, defines fmt's non-template
// functions once, and the instantiations below are the ones <fmt/format.h> declares extern.
#include <fmt/format-inl.h>

FMT_BEGIN_NAMESPACE
namespace detail {

template FMT_API auto dragonbox::to_decimal(float x) noexcept -> dragonbox::decimal_fp<float>;
template FMT_API auto dragonbox::to_decimal(double x) noexcept -> dragonbox::decimal_fp<double>;

#ifndef FMT_STATIC_THOUSANDS_SEPARATOR
template FMT_API locale_ref::locale_ref(const std::locale& loc);
template FMT_API auto locale_ref::get<std::locale>() const -> std::locale;
#endif

// Explicit instantiations for char.
template FMT_API auto thousands_sep_impl(locale_ref) -> thousands_sep_result<char>;
template FMT_API auto decimal_point_impl(locale_ref) -> char;
template FMT_API void buffer<char>::append(const char*, const char*);
template FMT_API void vformat_to(buffer<char>&, string_view,
                                 basic_format_args<FMT_BUFFER_CONTEXT(char)>, locale_ref);

// Explicit instantiations for wchar_t.
template FMT_API auto thousands_sep_impl(locale_ref) -> thousands_sep_result<wchar_t>;
template FMT_API auto decimal_point_impl(locale_ref) -> wchar_t;
template FMT_API void buffer<wchar_t>::append(const wchar_t*, const wchar_t*);

}  // namespace detail
FMT_END_NAMESPACE
