// signetctl: a command-line client for every signet RPC.
//
//   signetctl [global flags] COMMAND [flags] [arguments]
//   signetctl issue --subject=alice --audience=greeter --ttl=1h
//   signetctl issue --subject=alice | signetctl validate -
//   signetctl --json keys --include_revoked
//
// Exit codes: 0 ok (and, for validate, a valid token); 1 an invalid token (validate); 2 a usage
// error, or a connection or RPC error (the message goes to stderr).
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "arg_parser.h"
#include "google/protobuf/util/json_util.h"
#include "signet/channel.h"
#include "signet/client.h"
#include "signet/v1/token_service.pb.h"

namespace signet::ctl {
namespace {

constexpr int kOk = 0;
constexpr int kInvalidToken = 1;
constexpr int kError = 2;

const std::vector<FlagSpec>& GlobalFlags() {
  static const auto* const flags = new std::vector<FlagSpec>{
      {"target", FlagKind::kValue, "HOST:PORT", "signet-server's address (127.0.0.1:50051)"},
      {"tls_ca_file", FlagKind::kValue, "PATH", "trusted CA certificates (PEM); turns TLS on"},
      {"tls_cert_file", FlagKind::kValue, "PATH", "client certificate chain for mTLS (PEM)"},
      {"tls_key_file", FlagKind::kValue, "PATH", "client private key for mTLS (PEM)"},
      {"tls_server_name", FlagKind::kValue, "NAME",
       "server name expected in its certificate (default: the target host)"},
      {"timeout", FlagKind::kValue, "DURATION", "deadline of each call (10s)"},
      {"json", FlagKind::kBool, "", "print responses as JSON (one object per line)"},
      {"help", FlagKind::kBool, "", "show help"},
  };
  return *flags;
}

// Everything a command needs: its arguments and a way to talk to the server.
struct Context {
  ParsedArgs args;
  std::unique_ptr<Client> client;
  bool json = false;
};

struct Command {
  std::string name;
  std::string arguments;  // "TOKEN|-", shown in usage
  std::string summary;
  std::vector<FlagSpec> flags;
  std::function<int(Context&)> run;
};

int Fail(const std::string& command, const absl::Status& status) {
  std::cerr << "signetctl " << command << ": " << absl::StatusCodeToString(status.code());
  if (!status.message().empty()) std::cerr << ": " << status.message();
  std::cerr << "\n";
  return kError;
}

int UsageError(const std::string& message) {
  std::cerr << "signetctl: " << message << " (see signetctl --help)\n";
  return kError;
}

std::string Json(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.always_print_primitive_fields = true;  // valid=false, snapshot=false... stay visible
  options.preserve_proto_field_names = true;     // token_id, as in the proto
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(message, &out, options).ok()) {
    return "{}";
  }
  return out;
}

std::string Time(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(ts.seconds()),
                          absl::UTCTimeZone());
}

std::string StateName(v1::KeyState state) {
  std::string name = v1::KeyState_Name(state);
  absl::string_view short_name = name;
  absl::ConsumePrefix(&short_name, "KEY_STATE_");
  return std::string(short_name);
}

std::string ReasonName(v1::Reason reason) {
  std::string name = v1::Reason_Name(reason);
  absl::string_view short_name = name;
  absl::ConsumePrefix(&short_name, "REASON_");
  return std::string(short_name);
}

// A token from the command line, or from stdin for "-". Tokens are secrets: never echoed.
absl::StatusOr<std::string> TokenArgument(const std::string& arg) {
  if (arg != "-") return arg;
  std::string token((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  token = std::string(absl::StripAsciiWhitespace(token));
  if (token.empty()) return absl::InvalidArgumentError("no token on stdin");
  return token;
}

absl::StatusOr<std::string> ReadPem(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("--", flag, ": cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---- Commands.

int Issue(Context& ctx) {
  if (!ctx.args.positional.empty()) return UsageError("issue takes no arguments");
  std::string subject = ctx.args.Value("subject");
  if (subject.empty()) return UsageError("issue needs --subject");
  v1::IssueTokenRequest request;
  request.set_subject(subject);
  request.set_backend(ctx.args.Value("backend"));
  for (const std::string& value : ctx.args.Values("audience")) {
    for (absl::string_view a : absl::StrSplit(value, ',', absl::SkipEmpty())) {
      request.add_audience(std::string(a));
    }
  }
  if (ctx.args.Has("ttl")) {
    absl::Duration ttl;
    if (!absl::ParseDuration(ctx.args.Value("ttl"), &ttl) || ttl <= absl::ZeroDuration()) {
      return UsageError("--ttl must be a positive duration such as 90s, 15m or 1h");
    }
    request.mutable_ttl()->set_seconds(absl::ToInt64Seconds(ttl));
  }
  if (ctx.args.Has("claims")) {
    if (!google::protobuf::util::JsonStringToMessage(ctx.args.Value("claims"),
                                                     request.mutable_claims())
             .ok()) {
      return UsageError("--claims must be a JSON object");
    }
  }
  absl::StatusOr<v1::IssueTokenResponse> issued = ctx.client->IssueToken(request);
  if (!issued.ok()) return Fail("issue", issued.status());
  if (ctx.json) {
    std::cout << Json(*issued) << "\n";
  } else {
    // The token alone on stdout, so that TOKEN=$(signetctl issue ...) works; details on stderr.
    std::cout << issued->token() << "\n";
    std::cerr << "token_id " << issued->token_id() << ", key " << issued->key_id() << ", expires "
              << Time(issued->expires_at()) << "\n";
  }
  return kOk;
}

int Validate(Context& ctx) {
  if (ctx.args.positional.size() != 1) return UsageError("validate takes one TOKEN (or -)");
  absl::StatusOr<std::string> token = TokenArgument(ctx.args.positional[0]);
  if (!token.ok()) return UsageError(std::string(token.status().message()));
  const std::string audience = ctx.args.Value("audience");
  const bool any_audience = ctx.args.Bool("any_audience");
  if (audience.empty() == !any_audience) {
    return UsageError(any_audience ? "validate takes --audience or --any_audience, not both"
                                   : "validate needs --audience=AUD (the audience you expect) or "
                                     "--any_audience");
  }
  v1::ValidateTokenRequest request;
  request.set_token(*token);
  request.set_audience(audience);
  request.set_any_audience(any_audience);
  absl::StatusOr<v1::ValidateTokenResponse> answer = ctx.client->ValidateToken(request);
  if (!answer.ok()) return Fail("validate", answer.status());
  if (ctx.json) {
    std::cout << Json(*answer) << "\n";
  } else if (!answer->valid()) {
    std::cout << "invalid: " << ReasonName(answer->reason()) << "\n";
  } else {
    std::string claims = "{}";
    if (answer->has_claims()) claims = Json(answer->claims());
    std::cout << "valid\n"
              << "subject:    " << answer->subject() << "\n"
              << "backend:    " << answer->backend() << "\n"
              << "audience:   " << absl::StrJoin(answer->audience(), ", ") << "\n"
              << "issued_at:  " << Time(answer->issued_at()) << "\n"
              << "expires_at: " << Time(answer->expires_at()) << "\n"
              << "token_id:   " << answer->token_id() << "\n"
              << "key_id:     " << answer->key_id() << "\n"
              << "claims:     " << claims << "\n";
  }
  return answer->valid() ? kOk : kInvalidToken;
}

void PrintKeyTable(const google::protobuf::RepeatedPtrField<v1::Key>& keys) {
  std::printf("%-44s %-6s %-8s %-20s %-20s %-20s %s\n", "KEY_ID", "ALG", "STATE", "CREATED",
              "ACTIVATED", "RETIRED", "REVOKED");
  for (const v1::Key& key : keys) {
    std::printf("%-44s %-6s %-8s %-20s %-20s %-20s %s\n", key.key_id().c_str(),
                key.algorithm().c_str(), StateName(key.state()).c_str(),
                Time(key.created_at()).c_str(), Time(key.activated_at()).c_str(),
                Time(key.retired_at()).c_str(), Time(key.revoked_at()).c_str());
  }
  std::fflush(stdout);
}

int Keys(Context& ctx) {
  if (!ctx.args.positional.empty()) return UsageError("keys takes no arguments");
  v1::ListKeysRequest request;
  request.set_include_revoked(ctx.args.Bool("include_revoked"));
  absl::StatusOr<v1::ListKeysResponse> keys = ctx.client->ListKeys(request);
  if (!keys.ok()) return Fail("keys", keys.status());
  if (ctx.json) {
    std::cout << Json(*keys) << "\n";
  } else {
    PrintKeyTable(keys->keys());
  }
  return kOk;
}

int Jwks(Context& ctx) {
  if (!ctx.args.positional.empty()) return UsageError("jwks takes no arguments");
  absl::StatusOr<v1::GetJwksResponse> jwks = ctx.client->GetJwks();
  if (!jwks.ok()) return Fail("jwks", jwks.status());
  // Human output is the JWK Set itself, ready for any JWT library; --json adds the key metadata.
  std::cout << (ctx.json ? Json(*jwks) : jwks->jwks_json()) << "\n";
  return kOk;
}

int Rotate(Context& ctx) {
  if (!ctx.args.positional.empty()) return UsageError("rotate takes no arguments");
  v1::RotateKeyRequest request;
  request.set_immediate(ctx.args.Bool("immediate"));
  absl::StatusOr<v1::RotateKeyResponse> rotated = ctx.client->RotateKey(request);
  if (!rotated.ok()) return Fail("rotate", rotated.status());
  if (ctx.json) {
    std::cout << Json(*rotated) << "\n";
  } else {
    std::cout << "active:  " << rotated->active().key_id() << "\n"
              << "pending: " << rotated->pending().key_id() << "\n"
              << "retired: " << rotated->retired().key_id() << "\n";
  }
  return kOk;
}

int RevokeKey(Context& ctx) {
  if (ctx.args.positional.size() != 1) return UsageError("revoke-key takes one KEY_ID");
  v1::RevokeKeyRequest request;
  request.set_key_id(ctx.args.positional[0]);
  request.set_reason(ctx.args.Value("reason"));
  absl::StatusOr<v1::RevokeKeyResponse> revoked = ctx.client->RevokeKey(request);
  if (!revoked.ok()) return Fail("revoke-key", revoked.status());
  if (ctx.json) {
    std::cout << Json(*revoked) << "\n";
  } else {
    std::cout << "revoked: " << revoked->key().key_id() << " at "
              << Time(revoked->key().revoked_at()) << "\n"
              << "active:  " << revoked->active_key_id() << "\n";
  }
  return kOk;
}

int RevokeToken(Context& ctx) {
  v1::RevokeTokenRequest request;
  bool by_id = ctx.args.Has("token_id");
  if (by_id == (ctx.args.positional.size() == 1) || ctx.args.positional.size() > 1) {
    return UsageError("revoke-token takes one TOKEN (or -), or --token_id=ID");
  }
  if (by_id) {
    request.set_token_id(ctx.args.Value("token_id"));
  } else {
    absl::StatusOr<std::string> token = TokenArgument(ctx.args.positional[0]);
    if (!token.ok()) return UsageError(std::string(token.status().message()));
    request.set_token(*token);
  }
  absl::StatusOr<v1::RevokeTokenResponse> revoked = ctx.client->RevokeToken(request);
  if (!revoked.ok()) return Fail("revoke-token", revoked.status());
  if (ctx.json) {
    std::cout << Json(*revoked) << "\n";
  } else {
    std::cout << "revoked token " << revoked->token_id() << " (refused until "
              << Time(revoked->expires_at()) << ")\n";
  }
  return kOk;
}

int RevokeSubject(Context& ctx) {
  if (ctx.args.positional.size() != 1) return UsageError("revoke-subject takes one SUBJECT");
  v1::RevokeSubjectRequest request;
  request.set_subject(ctx.args.positional[0]);
  if (ctx.args.Has("not_before")) {
    absl::Time not_before;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, ctx.args.Value("not_before"), &not_before, &error)) {
      return UsageError("--not_before must be an RFC 3339 time such as 2024-05-01T12:00:00Z");
    }
    request.mutable_not_before()->set_seconds(absl::ToUnixSeconds(not_before));
  }
  absl::StatusOr<v1::RevokeSubjectResponse> revoked = ctx.client->RevokeSubject(request);
  if (!revoked.ok()) return Fail("revoke-subject", revoked.status());
  if (ctx.json) {
    std::cout << Json(*revoked) << "\n";
  } else {
    std::cout << "revoked tokens of " << revoked->subject() << " issued before "
              << Time(revoked->not_before()) << " (entry kept until " << Time(revoked->expires_at())
              << ")\n";
  }
  return kOk;
}

int Watch(Context& ctx) {
  if (!ctx.args.positional.empty()) return UsageError("watch takes no arguments");
  int64_t count = 0;
  if (ctx.args.Has("count") && (!absl::SimpleAtoi(ctx.args.Value("count"), &count) || count < 0)) {
    return UsageError("--count must be a number >= 0");
  }
  int64_t seen = 0;
  absl::Status status = ctx.client->WatchKeys([&](const v1::WatchKeysResponse& message) {
    // Heartbeats carry no change: neither shown nor counted.
    if (message.heartbeat()) return true;
    if (ctx.json) {
      std::cout << Json(message) << std::endl;
    } else {
      std::cout << "version " << message.version() << (message.snapshot() ? " snapshot" : "")
                << ": " << message.keys_size() << " keys, " << message.token_revocations_size()
                << " token revocations, " << message.subject_revocations_size()
                << " subject revocations\n";
      for (const v1::Key& key : message.keys()) {
        std::cout << "  key " << key.key_id() << " " << key.algorithm() << " "
                  << StateName(key.state()) << "\n";
      }
      for (const v1::TokenRevocation& r : message.token_revocations()) {
        std::cout << "  token " << r.token_id() << " until " << Time(r.expires_at()) << "\n";
      }
      for (const v1::SubjectRevocation& r : message.subject_revocations()) {
        std::cout << "  subject " << r.subject() << " before " << Time(r.not_before()) << "\n";
      }
      std::cout << std::flush;
    }
    ++seen;
    return count == 0 || seen < count;
  });
  if (!status.ok()) return Fail("watch", status);
  return kOk;
}

const std::vector<Command>& Commands() {
  static const auto* const commands = new std::vector<Command>{
      {"issue",
       "",
       "Sign a token for a subject (role: issuer). Prints the token.",
       {{"subject", FlagKind::kValue, "ID", "the user id the token speaks for (required)"},
        {"backend", FlagKind::kValue, "NAME", "the auth backend that vouched for the subject"},
        {"audience", FlagKind::kRepeated, "AUD",
         "an audience; repeat the flag or give a comma-separated list"},
        {"ttl", FlagKind::kValue, "DURATION", "lifetime, e.g. 15m or 1h (server default: 1h)"},
        {"claims", FlagKind::kValue, "JSON", "caller claims, a JSON object"}},
       Issue},
      {"validate",
       "TOKEN|-",
       "Judge a token (- reads it from stdin). Exit 0 when valid, 1 when not.",
       {{"audience", FlagKind::kValue, "AUD", "the audience the token must carry"},
        {"any_audience", FlagKind::kBool, "",
         "accept a token minted for any audience (instead of --audience)"}},
       Validate},
      {"keys",
       "",
       "List the keys and their states (role: admin).",
       {{"include_revoked", FlagKind::kBool, "", "also list revoked keys"}},
       Keys},
      {"jwks", "", "Print the public JWK Set (--json: with key metadata).", {}, Jwks},
      {"rotate",
       "",
       "Promote the pending key to active; the active key retires (role: admin).",
       {{"immediate", FlagKind::kBool, "",
         "promote even if the pending key is younger than publish_ahead"}},
       Rotate},
      {"revoke-key",
       "KEY_ID",
       "Revoke a key: its tokens are refused at once (role: admin).",
       {{"reason", FlagKind::kValue, "TEXT", "free text kept with the key"}},
       RevokeKey},
      {"revoke-token",
       "TOKEN|-",
       "Refuse one token until it expires, given the token (- from stdin) or its id.",
       {{"token_id", FlagKind::kValue, "ID", "the token's jti, instead of the token"}},
       RevokeToken},
      {"revoke-subject",
       "SUBJECT",
       "Refuse every token of a subject issued before a time (default: now).",
       {{"not_before", FlagKind::kValue, "RFC3339", "e.g. 2024-05-01T12:00:00Z"}},
       RevokeSubject},
      {"watch",
       "",
       "Stream the key set and revocations, then every change.",
       {{"count", FlagKind::kValue, "N",
         "stop after N messages, heartbeats not counted (0: never)"}},
       Watch},
  };
  return *commands;
}

std::string CommandUsage(const Command& command) {
  std::string out = absl::StrCat(
      "usage: signetctl [global flags] ", command.name, command.flags.empty() ? "" : " [flags]",
      command.arguments.empty() ? "" : " ", command.arguments, "\n\n", command.summary, "\n");
  if (!command.flags.empty()) {
    absl::StrAppend(&out, "\nflags:\n", ArgParser(command.flags).Help());
  }
  absl::StrAppend(&out, "\nglobal flags:\n", ArgParser(GlobalFlags()).Help());
  return out;
}

std::string MainUsage() {
  std::string out =
      "usage: signetctl [global flags] COMMAND [flags] [arguments]\n\n"
      "A client for every signet RPC. Exit codes: 0 ok (validate: valid token), 1 invalid token\n"
      "(validate), 2 usage, connection or RPC error.\n\ncommands:\n";
  for (const Command& command : Commands()) {
    absl::StrAppend(&out, "  ", command.name, std::string(16 - command.name.size(), ' '),
                    command.summary, "\n");
  }
  absl::StrAppend(&out, "\nglobal flags:\n", ArgParser(GlobalFlags()).Help(),
                  "\nsignetctl COMMAND --help shows a command's flags.\n");
  return out;
}

absl::StatusOr<std::unique_ptr<Client>> Connect(const ParsedArgs& args) {
  ChannelOptions channel;
  channel.target = args.Value("target", "127.0.0.1:50051");
  if (args.Has("tls_ca_file")) {
    absl::StatusOr<std::string> pem = ReadPem("tls_ca_file", args.Value("tls_ca_file"));
    if (!pem.ok()) return pem.status();
    channel.root_certs_pem = *pem;
    channel.use_tls = true;
  }
  if (args.Has("tls_cert_file") != args.Has("tls_key_file")) {
    return absl::InvalidArgumentError("--tls_cert_file and --tls_key_file go together");
  }
  if (args.Has("tls_cert_file")) {
    absl::StatusOr<std::string> cert = ReadPem("tls_cert_file", args.Value("tls_cert_file"));
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPem("tls_key_file", args.Value("tls_key_file"));
    if (!key.ok()) return key.status();
    channel.client_cert_pem = *cert;
    channel.client_key_pem = *key;
    channel.use_tls = true;
  }
  if (args.Has("tls_server_name")) {
    channel.server_name_override = args.Value("tls_server_name");
    channel.use_tls = true;
  }
  ClientOptions options;
  if (args.Has("timeout")) {
    absl::Duration timeout;
    if (!absl::ParseDuration(args.Value("timeout"), &timeout) || timeout <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError("--timeout must be a positive duration such as 5s");
    }
    options.deadline = timeout;
  } else {
    options.deadline = absl::Seconds(10);
  }
  return Client::Create(channel, options);
}

int Run(const std::vector<std::string>& argv) {
  // Find the command: the first argument that is neither a global flag nor its value.
  const Command* command = nullptr;
  {
    ArgParser globals(GlobalFlags());
    for (size_t i = 0; i < argv.size() && command == nullptr; ++i) {
      const std::string& arg = argv[i];
      if (arg.rfind("--", 0) == 0) {
        if (arg.find('=') == std::string::npos && arg != "--json" && arg != "--help") ++i;
        continue;
      }
      for (const Command& c : Commands()) {
        if (c.name == arg) command = &c;
      }
      if (command == nullptr) return UsageError(absl::StrCat("unknown command \"", arg, "\""));
    }
  }
  std::vector<FlagSpec> specs = GlobalFlags();
  if (command != nullptr) specs.insert(specs.end(), command->flags.begin(), command->flags.end());
  absl::StatusOr<ParsedArgs> parsed = ArgParser(specs).Parse(argv);
  if (!parsed.ok()) return UsageError(std::string(parsed.status().message()));
  if (command == nullptr) {
    if (parsed->Bool("help")) {
      std::cout << MainUsage();
      return kOk;
    }
    std::cerr << MainUsage();
    return kError;
  }
  if (parsed->Bool("help")) {
    std::cout << CommandUsage(*command);
    return kOk;
  }
  // Drop the command name itself from the positional arguments.
  Context ctx;
  ctx.args = *std::move(parsed);
  ctx.args.positional.erase(ctx.args.positional.begin());
  ctx.json = ctx.args.Bool("json");
  absl::StatusOr<std::unique_ptr<Client>> client = Connect(ctx.args);
  if (!client.ok()) return UsageError(std::string(client.status().message()));
  ctx.client = *std::move(client);
  return command->run(ctx);
}

}  // namespace
}  // namespace signet::ctl

int main(int argc, char** argv) {
  return signet::ctl::Run(std::vector<std::string>(argv + 1, argv + argc));
}
