#include "server/caller_claims.h"

#include <algorithm>
#include <string>
#include <string_view>

#include "rapidjson/document.h"
#include "signet/registered_claims.h"

namespace signet::server {
namespace {

void ToProtoValue(const rapidjson::Value& in, google::protobuf::Value* out);

void ToProtoStruct(const rapidjson::Value& object, google::protobuf::Struct* out) {
  auto& fields = *out->mutable_fields();
  for (const auto& member : object.GetObject()) {
    ToProtoValue(member.value,
                 &fields[std::string(member.name.GetString(), member.name.GetStringLength())]);
  }
}

// The payload passed the codec's strict parse (depth at most 64), so the recursion is bounded.
void ToProtoValue(const rapidjson::Value& in, google::protobuf::Value* out) {
  if (in.IsNull()) {
    out->set_null_value(google::protobuf::NULL_VALUE);
  } else if (in.IsBool()) {
    out->set_bool_value(in.GetBool());
  } else if (in.IsNumber()) {
    out->set_number_value(in.GetDouble());
  } else if (in.IsString()) {
    out->set_string_value(std::string(in.GetString(), in.GetStringLength()));
  } else if (in.IsArray()) {
    google::protobuf::ListValue* list = out->mutable_list_value();
    for (const auto& element : in.GetArray()) ToProtoValue(element, list->add_values());
  } else {
    ToProtoStruct(in, out->mutable_struct_value());
  }
}

// JSON nesting below a claim's value (0 for a scalar). The codec bounds it at 64.
int Depth(const rapidjson::Value& v) {
  int deepest = 0;
  if (v.IsArray()) {
    for (const auto& e : v.GetArray()) deepest = std::max(deepest, 1 + Depth(e));
    return std::max(deepest, 1);
  }
  if (v.IsObject()) {
    for (const auto& m : v.GetObject()) deepest = std::max(deepest, 1 + Depth(m.value));
    return std::max(deepest, 1);
  }
  return 0;
}

// google.protobuf.Struct costs about three message levels per JSON level; protobuf parsers stop
// at 100. IssueToken refuses deeper claims; tokens signed otherwise keep them out of the answer.
constexpr int kMaxStructDepth = 30;

}  // namespace

void CallerClaimsToStruct(const VerifiedToken& token, google::protobuf::Struct* out) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag |
            rapidjson::kParseFullPrecisionFlag>(token.payload_json().data(),
                                                token.payload_json().size());
  if (doc.HasParseError() || !doc.IsObject()) return;
  auto& fields = *out->mutable_fields();
  for (const auto& member : doc.GetObject()) {
    const std::string_view name(member.name.GetString(), member.name.GetStringLength());
    if (IsRegisteredClaim(name)) continue;
    if (Depth(member.value) > kMaxStructDepth) {
      out->Clear();
      return;
    }
    ToProtoValue(member.value, &fields[std::string(name)]);
  }
}

}  // namespace signet::server
