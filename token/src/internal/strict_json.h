// Strict, bounded JSON reading on top of RapidJSON's SAX reader: UTF-8 validated, iterative (no
// recursion however deep the input), a nesting limit, no duplicate member names, nothing after the
// root value. Text is parsed in situ, so member names and strings are views into the caller's
// buffer and stay valid as long as it does.
#ifndef SIGNET_TOKEN_SRC_INTERNAL_STRICT_JSON_H_
#define SIGNET_TOKEN_SRC_INTERNAL_STRICT_JSON_H_

#include <cstddef>
#include <cstdint>
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

// True when no byte of data[0, size) has its top bit set.
inline bool IsAscii(const char* data, size_t size) {
  uint64_t high = 0;
  size_t i = 0;
  for (; i + sizeof(uint64_t) <= size; i += sizeof(uint64_t)) {
    uint64_t word;
    std::memcpy(&word, data + i, sizeof(word));
    high |= word;
  }
  for (; i < size; ++i) high |= static_cast<unsigned char>(data[i]);
  return (high & 0x8080808080808080u) == 0;
}

// RapidJSON's UTF-8 validation reads (and, in situ, writes back) the three bytes after a
// multi-byte lead byte before it checks them, so a truncated sequence at the end of the text
// reaches past the terminating NUL. Found by tests/fuzz/jwk_fuzzer (heap-buffer-overflow).
inline constexpr size_t kInsituPadding = 4;

// True when decoded JSON text holds a UTF-16 surrogate (U+D800..U+DFFF as ED A0..BF xx). Raw
// input bytes cannot produce one (the encoding check refuses them, and ASCII has none), and
// RapidJSON 1.1.0 refuses a high surrogate escape without a low one after it, but it decodes a
// lone low surrogate escape ("\udc00") to these bytes, which are not UTF-8.
inline bool HasSurrogate(const char* data, size_t size) {
  const char* end = data + size;
  for (const char* p = data; p < end; ++p) {
    p = static_cast<const char*>(std::memchr(p, 0xED, end - p));
    if (p == nullptr) return false;
    if (p + 1 < end && (static_cast<unsigned char>(p[1]) & 0xE0) == 0xA0) return true;
  }
  return false;
}

// Forwards the parse events to `Handler`, refusing strings and member names that decoded to a
// surrogate (RFC 8259 section 8.2: such text is not interoperable; signet would echo it in
// responses that are not UTF-8).
template <typename Handler>
class NoSurrogates {
 public:
  explicit NoSurrogates(Handler& handler) : handler_(handler) {}
  bool Null() { return handler_.Null(); }
  bool Bool(bool b) { return handler_.Bool(b); }
  bool Int(int i) { return handler_.Int(i); }
  bool Uint(unsigned u) { return handler_.Uint(u); }
  bool Int64(int64_t i) { return handler_.Int64(i); }
  bool Uint64(uint64_t u) { return handler_.Uint64(u); }
  bool Double(double d) { return handler_.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
    return handler_.RawNumber(s, n, copy);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) {
    return !HasSurrogate(s, n) && handler_.String(s, n, copy);
  }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) {
    return !HasSurrogate(s, n) && handler_.Key(s, n, copy);
  }
  bool StartObject() { return handler_.StartObject(); }
  bool EndObject(rapidjson::SizeType n) { return handler_.EndObject(n); }
  bool StartArray() { return handler_.StartArray(); }
  bool EndArray(rapidjson::SizeType n) { return handler_.EndArray(n); }

 private:
  Handler& handler_;
};

// Parses *buffer (modified in place) with `handler`. True only when the whole buffer is one JSON
// value that the handler accepted (an embedded NUL would otherwise end the text early). NUL
// padding is added for the parse and removed after, without reallocating: views into the buffer
// that the handler kept stay valid.
//
// RapidJSON's encoding validation looks at every string byte. ASCII text (every token signet mints,
// unless a caller claim holds other characters) is valid UTF-8 as it stands, which IsAscii checks
// a word at a time; such text is parsed without the per-byte validation. Control characters,
// escapes and surrogates (lone high, lone low, a high not followed by a low) are refused in both
// modes.
template <typename Handler>
bool ParseInsitu(std::string* buffer, Handler& handler) {
  const size_t size = buffer->size();
  const bool ascii = IsAscii(buffer->data(), size);
  buffer->append(kInsituPadding, '\0');
  rapidjson::InsituStringStream stream(buffer->data());
  rapidjson::Reader reader;
  constexpr unsigned kAsciiFlags = kStrictParseFlags & ~rapidjson::kParseValidateEncodingFlag;
  NoSurrogates<Handler> checked(handler);
  const bool ok = (ascii ? reader.Parse<kAsciiFlags>(stream, checked)
                         : reader.Parse<kStrictParseFlags>(stream, checked)) &&
                  stream.Tell() == size;
  buffer->resize(size);
  return ok;
}

// True when `json` is one object satisfying the rules above (used off the hot path, before a DOM
// parse of the same text).
bool IsStrictJsonObject(std::string_view json);

}  // namespace signet::internal

#endif  // SIGNET_TOKEN_SRC_INTERNAL_STRICT_JSON_H_
