// Strict, bounded JSON reading on top of RapidJSON's SAX reader: UTF-8 validated, iterative (no
// recursion however deep the input), a nesting limit, no duplicate member names, nothing after the
// root value. Text is parsed in situ, so member names and strings are views into the caller's
// buffer and stay valid as long as it does.
#ifndef SIGNET_CLIENT_SRC_INTERNAL_STRICT_JSON_H_
#define SIGNET_CLIENT_SRC_INTERNAL_STRICT_JSON_H_

#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "rapidjson/reader.h"

namespace signet::internal {

inline constexpr unsigned kStrictParseFlags = rapidjson::kParseInsituFlag |
                                              rapidjson::kParseValidateEncodingFlag |
                                              rapidjson::kParseIterativeFlag;

// Containers deeper than this are refused: no claim needs more, and it bounds the work per byte.
inline constexpr int kMaxJsonDepth = 64;

// Tracks nesting and refuses duplicate member names, at every depth. Cheap for the small objects
// of a token (a linear scan), and switches to a hash set for large ones so that a 1 MiB object of
// distinct names stays linear.
class StructureTracker {
 public:
  // Before a container opens. False when it would be too deep.
  bool Open(bool is_object) {
    if (depth_ >= kMaxJsonDepth) return false;
    ++depth_;
    if (is_object) objects_.push_back(Level{names_.size(), nullptr});
    return true;
  }
  // A member name of the innermost object. False when it repeats an earlier name of that object.
  bool Key(std::string_view name) {
    Level& level = objects_.back();
    if (level.set != nullptr) {
      if (!level.set->insert(name).second) return false;
    } else {
      for (size_t i = level.start; i < names_.size(); ++i) {
        if (names_[i] == name) return false;
      }
      if (names_.size() - level.start >= kLinearScanLimit) {
        level.set = std::make_unique<absl::flat_hash_set<std::string_view>>(
            names_.begin() + level.start, names_.end());
        level.set->insert(name);
        return true;
      }
    }
    names_.push_back(name);
    return true;
  }
  void Close(bool is_object) {
    --depth_;
    if (is_object) {
      names_.resize(objects_.back().start);
      objects_.pop_back();
    }
  }
  // 0 outside the root value, 1 directly inside the root container.
  int depth() const { return depth_; }

 private:
  static constexpr size_t kLinearScanLimit = 16;
  struct Level {
    size_t start;  // First name of this object in names_.
    std::unique_ptr<absl::flat_hash_set<std::string_view>> set;
  };
  int depth_ = 0;
  absl::InlinedVector<std::string_view, 24> names_;
  absl::InlinedVector<Level, 4> objects_;
};

// Parses `buffer` (NUL-terminated, modified in place) with `handler`. True only when the whole
// buffer of `size` bytes is one JSON value that the handler accepted (an embedded NUL would
// otherwise end the text early).
template <typename Handler>
bool ParseInsitu(char* buffer, size_t size, Handler& handler) {
  rapidjson::InsituStringStream stream(buffer);
  rapidjson::Reader reader;
  if (!reader.Parse<kStrictParseFlags>(stream, handler)) return false;
  return stream.Tell() == size;
}

// True when `json` is one object satisfying the rules above (used off the hot path, before a DOM
// parse of the same text).
bool IsStrictJsonObject(std::string_view json);

}  // namespace signet::internal

#endif  // SIGNET_CLIENT_SRC_INTERNAL_STRICT_JSON_H_
