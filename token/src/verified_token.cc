#include "signet/verified_token.h"

#include <string>

#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "signet/registered_claims.h"

namespace signet {

std::string SignedClaims::CallerClaimsJson() const {
  if (!has_caller_claims_) return "{}";
  // payload_json_ passed the strict parse (object, bounded depth, UTF-8) when this was made.
  // Full precision: numbers must come back exactly as signed (tests/fuzz/claims_fuzzer found
  // doubles returned one ulp off without it).
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag |
            rapidjson::kParseFullPrecisionFlag>(payload_json_.c_str());
  if (doc.HasParseError() || !doc.IsObject()) return "{}";
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  for (const auto& member : doc.GetObject()) {
    const std::string_view name(member.name.GetString(), member.name.GetStringLength());
    if (IsRegisteredClaim(name)) continue;
    writer.Key(member.name.GetString(), member.name.GetStringLength());
    member.value.Accept(writer);
  }
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace signet
