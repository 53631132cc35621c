#include "internal/strict_json.h"

#include <string>

namespace signet::internal {
namespace {

// Accepts any value inside a root object; the tracker does the checking.
class StructureOnlyHandler {
 public:
  bool Null() { return Value(); }
  bool Bool(bool) { return Value(); }
  bool Int(int) { return Value(); }
  bool Uint(unsigned) { return Value(); }
  bool Int64(int64_t) { return Value(); }
  bool Uint64(uint64_t) { return Value(); }
  bool Double(double) { return Value(); }
  bool RawNumber(const char*, rapidjson::SizeType, bool) { return Value(); }
  bool String(const char*, rapidjson::SizeType, bool) { return Value(); }
  bool StartObject() { return tracker_.Open(/*is_object=*/true); }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    return tracker_.Key(std::string_view(s, n));
  }
  bool EndObject(rapidjson::SizeType) {
    tracker_.Close(/*is_object=*/true);
    return true;
  }
  bool StartArray() { return tracker_.depth() > 0 && tracker_.Open(/*is_object=*/false); }
  bool EndArray(rapidjson::SizeType) {
    tracker_.Close(/*is_object=*/false);
    return true;
  }

 private:
  bool Value() const { return tracker_.depth() > 0; }  // The root must be an object.
  StructureTracker tracker_;
};

}  // namespace

bool IsStrictJsonObject(std::string_view json) {
  std::string copy(json);
  StructureOnlyHandler handler;
  return ParseInsitu(&copy, handler);
}

}  // namespace signet::internal
