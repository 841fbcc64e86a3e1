// Error helpers: every failure is a uad::Error whose message names the op and the shapes.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace uad {

/// The exception type of the engine. The message names the op and the offending shapes/dtypes.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Formats a shape as "[2,3,4]".
inline std::string shape_str(const std::vector<int64_t>& s) {
  std::ostringstream o;
  o << '[';
  for (size_t i = 0; i < s.size(); ++i) o << (i ? "," : "") << s[i];
  o << ']';
  return o.str();
}

namespace detail {
inline void cat_into(std::ostringstream&) {}
template <class A, class... R> void cat_into(std::ostringstream& o, const A& a, const R&... r) {
  if constexpr (std::is_same_v<A, std::vector<int64_t>>) o << shape_str(a); else o << a;
  cat_into(o, r...);
}
}  // namespace detail

/// Throws uad::Error with the concatenation of the arguments (shapes printed as [a,b,c]).
template <class... A> [[noreturn]] void fail(const A&... a) {
  std::ostringstream o;
  detail::cat_into(o, a...);
  throw Error(o.str());
}

/// Throws uad::Error(message...) when `cond` is false.
template <class... A> inline void check(bool cond, const A&... a) {
  if (!cond) fail(a...);
}

}  // namespace uad
