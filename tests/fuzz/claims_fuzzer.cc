// The claims path of IssueToken: caller claims -> server::SignToken with a fixed key. What signs
// must verify, and the caller claims must come back unchanged (CallerClaimsJson, and for the
// Struct path the Struct that ValidateToken returns).
//
// Input: byte 0 picks the path and the key; the rest is either caller-claims JSON (as
// TokenClaims::caller_claims_json takes it) or a binary google.protobuf.Struct (as IssueToken
// receives it, printed to JSON the way the service does).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "rapidjson/memorystream.h"
#include "rapidjson/reader.h"
#include "tests/fuzz/fuzz_keys.h"
#include "token/signing/token_signer.h"

namespace {

using signet::fuzz::Require;

// The service's limit on caller claims (server/token_service.cc).
constexpr size_t kMaxClaimsBytes = 4 * 1024;

// A JSON text as the sequence of its parse events, numbers by value (integers exactly, others
// through strtod). Two texts are the same JSON when their sequences are equal (signet keeps the
// order of members).
struct Events : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, Events> {
  bool Null() { return Add("null"); }
  bool Bool(bool b) { return Add(b ? "true" : "false"); }
  bool RawNumber(const char* text, rapidjson::SizeType length, bool) {
    const std::string number(text, length);
    int64_t i = 0;
    uint64_t u = 0;
    if (number.find_first_of(".eE") == std::string::npos &&
        (number[0] == '-' ? absl::SimpleAtoi(number, &i) : absl::SimpleAtoi(number, &u))) {
      return Add(number[0] == '-' ? absl::StrCat("int ", i) : absl::StrCat("int ", u));
    }
    char buffer[64];
    std::snprintf(buffer, sizeof(buffer), "double %.17g", std::strtod(number.c_str(), nullptr));
    return Add(buffer);
  }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    return Add("string " + std::string(s, n));
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) { return Add("key " + std::string(s, n)); }
  bool StartObject() { return Add("{"); }
  bool EndObject(rapidjson::SizeType) { return Add("}"); }
  bool StartArray() { return Add("["); }
  bool EndArray(rapidjson::SizeType) { return Add("]"); }
  bool Add(std::string e) {
    events.push_back(std::move(e));
    return true;
  }
  std::vector<std::string> events;
};

std::vector<std::string> EventsOf(const std::string& json) {
  rapidjson::MemoryStream memory(json.data(), json.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> stream(memory);
  rapidjson::Reader reader;
  Events events;
  if (reader
          .Parse<rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseIterativeFlag>(stream,
                                                                                         events)
          .IsError()) {
    return {"parse error"};
  }
  return events.events;
}

bool SameJson(const std::string& a, const std::string& b) { return EventsOf(a) == EventsOf(b); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const signet::fuzz::FuzzKeys& k = signet::fuzz::Keys();
  const bool struct_path = (data[0] & 1) != 0;
  const signet::server::SigningKey* keys[] = {k.ed.get(), k.hs.get(), k.es.get()};
  const signet::server::SigningKey& key = *keys[(data[0] >> 1) % 3];
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);

  google::protobuf::Struct sent;
  std::string caller_json;
  if (struct_path) {
    if (!sent.ParseFromArray(rest.data(), static_cast<int>(rest.size()))) return 0;
    // Unknown fields never reach JSON (nor the token): only the Struct's content round-trips.
    sent.DiscardUnknownFields();
    if (sent.fields_size() == 0) return 0;  // IssueToken treats an empty Struct as none.
    google::protobuf::util::JsonPrintOptions options;
    if (!google::protobuf::util::MessageToJsonString(sent, &caller_json, options).ok()) return 0;
    if (caller_json.size() > kMaxClaimsBytes) return 0;
  } else {
    caller_json.assign(rest);
  }

  signet::server::TokenClaims claims;
  claims.issuer = "signet";
  claims.subject = "user-7";
  claims.audiences = {"orders"};
  claims.issued_at = k.now;
  claims.expires_at = k.now + absl::Hours(1);
  claims.token_id = "AAECAwQFBgcICQoLDA0ODw";
  claims.caller_claims_json = caller_json;
  absl::StatusOr<std::string> token = signet::server::SignToken(key, claims);
  if (!token.ok()) {
    // From a Struct (no duplicates, valid UTF-8, finite JSON) only the documented refusals.
    if (struct_path) {
      const std::string why(token.status().message());
      Require(why.find("registered claim") != std::string::npos ||
                  why.find("nests deeper") != std::string::npos,
              "a Struct the service accepts failed to sign");
    }
    return 0;
  }

  const signet::VerifyResult r =
      k.verifier.Verify(*token, k.key_set, nullptr, k.now, signet::Audience::Expect("orders"));
  if (!r.valid()) {
    std::fprintf(stderr, "reason %s for claims %s\n",
                 std::string(signet::ReasonName(r.reason)).c_str(), caller_json.c_str());
  }
  Require(r.valid(), "a token SignToken made does not verify");
  Require(r.token->subject() == "user-7" && r.token->token_id() == claims.token_id,
          "registered claims survive caller claims");
  const std::string back = r.token->CallerClaimsJson();
  if (!SameJson(caller_json.empty() ? "{}" : caller_json, back)) {
    std::fprintf(stderr, "signed:   %s\nreturned: %s\n", caller_json.c_str(), back.c_str());
    Require(false, "CallerClaimsJson differs from the caller claims signed");
  }

  if (struct_path) {
    // What protobuf's own JSON mapping makes of the Struct (it drops Values without a kind and
    // prints unknown null_value enums as null): signet must return exactly that.
    google::protobuf::Struct canonical;
    Require(google::protobuf::util::JsonStringToMessage(caller_json, &canonical).ok(),
            "protobuf cannot read its own JSON");
    google::protobuf::Struct returned;
    google::protobuf::util::JsonParseOptions options;
    Require(google::protobuf::util::JsonStringToMessage(back, &returned, options).ok(),
            "ValidateToken cannot return the claims as a Struct");
    if (!google::protobuf::util::MessageDifferencer::Equals(canonical, returned)) {
      std::fprintf(stderr, "sent:     %s\nreturned: %s\n", canonical.ShortDebugString().c_str(),
                   returned.ShortDebugString().c_str());
      Require(false, "the Struct returned differs from the Struct sent");
    }
  }
  return 0;
}
