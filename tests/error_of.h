// error_of(f): the message of the uad::Error that f throws, or "" when it throws none — the one
// helper every test of "bad input gives one clear error" uses.
#pragma once
#include <functional>
#include <string>

#include "tensor/error.h"

namespace uad::test {

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const uad::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace uad::test
