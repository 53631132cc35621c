#include "examples/login_service.h"

#include <sodium.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "httplib.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace signet::examples {

namespace {

bool SodiumReady() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

constexpr char kBadCredentials[] = "invalid username or password";

absl::string_view Absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace

absl::StatusOr<PasswordTable> PasswordTable::Parse(std::string_view text) {
  if (!SodiumReady()) return absl::InternalError("libsodium failed to initialise");
  PasswordTable table;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(Absl(text), '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    size_t colon = line.find(':');
    if (colon == 0 || colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("line ", line_number, ": expected name:hash"));
    }
    std::string hash(line.substr(colon + 1));
    // A hash libsodium cannot read would make every password fail silently: refuse it now.
    if (hash.size() >= crypto_pwhash_STRBYTES ||
        crypto_pwhash_str_needs_rehash(hash.c_str(), crypto_pwhash_OPSLIMIT_MIN,
                                       crypto_pwhash_MEMLIMIT_MIN) == -1) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": not a crypto_pwhash (argon2) string"));
    }
    if (table.decoy_hash_.empty()) table.decoy_hash_ = hash;
    table.hashes_.insert_or_assign(std::string(line.substr(0, colon)), std::move(hash));
  }
  return table;
}

absl::StatusOr<std::string> PasswordTable::Hash(std::string_view password, uint64_t opslimit,
                                                size_t memlimit) {
  if (!SodiumReady()) return absl::InternalError("libsodium failed to initialise");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), opslimit, memlimit) != 0) {
    return absl::ResourceExhaustedError("crypto_pwhash_str failed (out of memory?)");
  }
  return std::string(out);
}

bool PasswordTable::Check(std::string_view user, std::string_view password) const {
  auto it = hashes_.find(Absl(user));
  const std::string& hash = it != hashes_.end() ? it->second : decoy_hash_;
  if (hash.empty()) return false;
  bool match = crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
  return match && it != hashes_.end();
}

LoginHandler::LoginHandler(std::shared_ptr<const Client> signet, PasswordTable users,
                           LoginOptions options)
    : signet_(std::move(signet)), users_(std::move(users)), options_(std::move(options)) {}

absl::StatusOr<v1::IssueTokenResponse> LoginHandler::Login(std::string_view user,
                                                           std::string_view password) const {
  if (user.empty() || !users_.Check(user, password)) {
    return absl::UnauthenticatedError(kBadCredentials);
  }
  v1::IssueTokenRequest request;
  request.set_subject(std::string(user));
  request.set_backend(options_.backend);
  for (const std::string& audience : options_.audiences) request.add_audience(audience);
  if (options_.ttl > absl::ZeroDuration()) {
    request.mutable_ttl()->set_seconds(absl::ToInt64Seconds(options_.ttl));
  }
  return signet_->IssueToken(request);
}

namespace {

std::string Json(const std::vector<std::pair<std::string, std::string>>& fields) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  for (const auto& [key, value] : fields) {
    writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  }
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

// username and password from a form body, or from a JSON object body.
bool ReadCredentials(const httplib::Request& req, std::string* user, std::string* password) {
  if (req.has_param("username") && req.has_param("password")) {
    *user = req.get_param_value("username");
    *password = req.get_param_value("password");
    return true;
  }
  rapidjson::Document doc;
  doc.Parse(req.body.data(), req.body.size());
  if (doc.HasParseError() || !doc.IsObject()) return false;
  auto u = doc.FindMember("username");
  auto p = doc.FindMember("password");
  if (u == doc.MemberEnd() || p == doc.MemberEnd() || !u->value.IsString() ||
      !p->value.IsString()) {
    return false;
  }
  user->assign(u->value.GetString(), u->value.GetStringLength());
  password->assign(p->value.GetString(), p->value.GetStringLength());
  return true;
}

void HandleLogin(const LoginHandler& handler, const httplib::Request& req, httplib::Response& res) {
  std::string user;
  std::string password;
  if (!ReadCredentials(req, &user, &password)) {
    res.status = 400;
    res.set_content(Json({{"error", "username and password are required"}}), "application/json");
    return;
  }
  absl::StatusOr<v1::IssueTokenResponse> issued = handler.Login(user, password);
  if (!issued.ok()) {
    bool bad_credentials = issued.status().code() == absl::StatusCode::kUnauthenticated;
    res.status = bad_credentials ? 401 : 503;
    res.set_content(
        Json({{"error", bad_credentials ? kBadCredentials : "cannot issue tokens right now"}}),
        "application/json");
    return;
  }
  absl::Time expires = absl::FromUnixSeconds(issued->expires_at().seconds());
  res.set_header("Cache-Control", "no-store");
  res.set_content(
      Json({{"token", issued->token()},
            {"token_id", issued->token_id()},
            {"expires_at", absl::FormatTime(absl::RFC3339_sec, expires, absl::UTCTimeZone())}}),
      "application/json");
}

}  // namespace

absl::StatusOr<std::unique_ptr<LoginHttpServer>> LoginHttpServer::Start(const LoginHandler* handler,
                                                                        const std::string& host,
                                                                        int port) {
  std::unique_ptr<LoginHttpServer> http(new LoginHttpServer());
  http->server_ = std::make_unique<httplib::Server>();
  http->server_->Post("/login", [handler](const httplib::Request& req, httplib::Response& res) {
    HandleLogin(*handler, req, res);
  });
  if (port == 0) {
    http->port_ = http->server_->bind_to_any_port(host);
  } else if (http->server_->bind_to_port(host, port)) {
    http->port_ = port;
  }
  if (http->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", host, ":", port));
  }
  httplib::Server* server = http->server_.get();
  http->thread_ = std::thread([server] { server->listen_after_bind(); });
  // stop() is a no-op until the loop runs: wait for it, so Stop() always ends the thread.
  for (int i = 0; i < 5000 && !server->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return http;
}

LoginHttpServer::~LoginHttpServer() { Stop(); }

void LoginHttpServer::Stop() {
  if (server_ != nullptr) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace signet::examples
