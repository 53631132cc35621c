// The Kustomize manifests (deploy/k8s) against the real binary: both overlays render; their
// Deployments are hardened as documented; and signet-server started with exactly the container's
// arguments (the flagfiles from the rendered ConfigMaps, Secrets and volumes mapped to temp files,
// init containers run first) answers the probes the Deployment declares, on the ports its Services
// target. The Dockerfile's user, ports and entrypoint must agree with the Deployment too. So
// manifests and binary cannot drift apart unnoticed.
#include <httplib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "rapidjson/stream.h"
#include "server/store/envelope.h"
#include "tests/integration/ops/ops_test_util.h"
#include "tests/integration/test_support.h"

#ifdef SIGNET_OPS_WITH_POSTGRES
#include "tests/integration/ha/postgres_fleet.h"
#endif

namespace signet {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using Value = rapidjson::Value;

const std::string kK8sDir = std::string(SIGNET_SOURCE_DIR) + "/deploy/k8s";
const std::string kDockerfile = std::string(SIGNET_SOURCE_DIR) + "/deploy/docker/Dockerfile";
// The name callers verify the server certificate against (the Service's DNS name).
constexpr char kServiceDns[] = "signet.signet.svc.cluster.local";
constexpr char kAdminIdentity[] = "spiffe://cluster.local/ns/signet/sa/signet-admin";
constexpr char kValidatorIdentity[] = "spiffe://cluster.local/ns/shop/sa/orders";

// ---- JSON access -------------------------------------------------------------------------------

const Value* Member(const Value* v, const char* name) {
  if (v == nullptr || !v->IsObject()) return nullptr;
  auto it = v->FindMember(name);
  return it == v->MemberEnd() ? nullptr : &it->value;
}

template <typename... Names>
const Value* Path(const Value* v, const char* first, Names... rest) {
  const Value* m = Member(v, first);
  if constexpr (sizeof...(rest) == 0) {
    return m;
  } else {
    return Path(m, rest...);
  }
}

std::string Str(const Value* v) { return v != nullptr && v->IsString() ? v->GetString() : ""; }
bool True(const Value* v) { return v != nullptr && v->IsBool() && v->GetBool(); }
bool False(const Value* v) { return v != nullptr && v->IsBool() && !v->GetBool(); }
int64_t Int(const Value* v, int64_t fallback = -1) {
  return v != nullptr && v->IsInt64() ? v->GetInt64() : fallback;
}
std::vector<const Value*> Items(const Value* v) {
  std::vector<const Value*> out;
  if (v != nullptr && v->IsArray()) {
    for (const Value& item : v->GetArray()) out.push_back(&item);
  }
  return out;
}

// ---- Rendering ---------------------------------------------------------------------------------

struct Rendered {
  std::vector<std::unique_ptr<rapidjson::Document>> objects;

  std::vector<const Value*> All(const std::string& kind) const {
    std::vector<const Value*> out;
    for (const auto& o : objects) {
      if (Str(Member(o.get(), "kind")) == kind) out.push_back(o.get());
    }
    return out;
  }
  const Value* Find(const std::string& kind, const std::string& name) const {
    for (const Value* o : All(kind)) {
      if (Str(Path(o, "metadata", "name")) == name) return o;
    }
    return nullptr;
  }
};

// `kubectl kustomize`, then `kubectl label --local -o json` to turn its YAML into JSON without a
// cluster (the label it adds is harmless here).
bool Render(const std::string& dir, Rendered* out, std::string* error) {
  testing::CommandResult yaml = testing::RunCommand({"kubectl", "kustomize", dir});
  if (yaml.exit_code != 0) {
    *error = "kubectl kustomize " + dir + " failed:\n" + yaml.err;
    return false;
  }
  testing::CommandResult json = testing::RunCommand(
      {"kubectl", "label", "--local", "-f", "-", "-o", "json", "signet.dev/rendered=true"},
      yaml.out);
  if (json.exit_code != 0) {
    *error = "kubectl label --local -o json failed:\n" + json.err;
    return false;
  }
  rapidjson::StringStream stream(json.out.c_str());
  while (true) {
    while (stream.Peek() != '\0' &&
           absl::ascii_isspace(static_cast<unsigned char>(stream.Peek()))) {
      stream.Take();
    }
    if (stream.Peek() == '\0') break;
    auto doc = std::make_unique<rapidjson::Document>();
    doc->ParseStream<rapidjson::kParseStopWhenDoneFlag>(stream);
    if (doc->HasParseError() || !doc->IsObject()) {
      *error = "kubectl printed JSON this test cannot read";
      return false;
    }
    if (Str(Member(doc.get(), "kind")) == "List") {
      for (const Value* item : Items(Member(doc.get(), "items"))) {
        auto one = std::make_unique<rapidjson::Document>();
        one->CopyFrom(*item, one->GetAllocator());
        out->objects.push_back(std::move(one));
      }
    } else {
      out->objects.push_back(std::move(doc));
    }
  }
  return true;
}

// ---- Flags -------------------------------------------------------------------------------------

// The flags a command line sets, with --flagfile expanded in place (later settings win), as
// abseil reads them. `read` returns a flagfile's content.
std::map<std::string, std::string> EffectiveFlags(
    const std::vector<std::string>& args,
    const std::function<std::string(const std::string&)>& read) {
  std::map<std::string, std::string> flags;
  std::function<void(const std::string&)> apply = [&](const std::string& arg) {
    absl::string_view a = absl::StripAsciiWhitespace(arg);
    if (a.empty() || a[0] == '#') return;
    if (!absl::ConsumePrefix(&a, "--")) return;
    size_t eq = a.find('=');
    std::string name(a.substr(0, eq));
    std::string value = eq == absl::string_view::npos ? "true" : std::string(a.substr(eq + 1));
    if (name == "flagfile") {
      for (absl::string_view file : absl::StrSplit(value, ',')) {
        for (absl::string_view line : absl::StrSplit(read(std::string(file)), '\n')) {
          apply(std::string(line));
        }
      }
      return;
    }
    flags[name] = value;
  };
  for (const std::string& a : args) apply(a);
  return flags;
}

int PortOf(const std::string& listen) {
  int port = -1;
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port)) return -1;
  return port;
}

std::string HostOf(const std::string& listen) { return listen.substr(0, listen.rfind(':')); }

// ---- A pod on this machine ---------------------------------------------------------------------

// Secret name -> key -> content: what an operator creates before applying the manifests
// (docs/DEPLOY.md).
using Secrets = std::map<std::string, std::map<std::string, std::string>>;

// The volumes of a pod as folders under a temp dir, and each container's mount paths mapped to
// them.
class PodSandbox {
 public:
  PodSandbox(const Rendered& rendered, const Value* pod, Secrets secrets)
      : rendered_(rendered), pod_(pod), secrets_(std::move(secrets)) {}

  // Fills every volume. The flagfiles in ConfigMaps get their container paths mapped (the main
  // container reads them). False with a message on anything the test cannot map.
  bool Prepare(const Value* main, std::string* error) {
    bool fs_group = Path(pod_, "securityContext", "fsGroup") != nullptr;
    for (const Value* volume : Items(Member(pod_, "volumes"))) {
      std::string name = Str(Member(volume, "name"));
      std::string dir = root_.path() + "/volumes/" + name;
      std::filesystem::create_directories(dir);
      volume_dirs_[name] = dir;
    }
    std::vector<std::pair<std::string, std::string>> main_mounts = Mounts(main);
    for (const Value* volume : Items(Member(pod_, "volumes"))) {
      std::string name = Str(Member(volume, "name"));
      const std::string& dir = volume_dirs_[name];
      if (const Value* cm = Member(volume, "configMap")) {
        const Value* object = rendered_.Find("ConfigMap", Str(Member(cm, "name")));
        if (object == nullptr) {
          *error = "volume " + name + " names a ConfigMap the overlay does not render";
          return false;
        }
        std::map<std::string, std::string> data;
        if (const Value* d = Member(object, "data")) {
          for (auto it = d->MemberBegin(); it != d->MemberEnd(); ++it) {
            data[it->name.GetString()] = it->value.GetString();
          }
        }
        if (!WriteItems(cm, data, dir, 0644, main_mounts, error)) return false;
      } else if (const Value* secret = Member(volume, "secret")) {
        std::string secret_name = Str(Member(secret, "secretName"));
        auto it = secrets_.find(secret_name);
        if (it == secrets_.end()) {
          *error = "volume " + name + " needs Secret " + secret_name +
                   ", which docs/DEPLOY.md does not describe (and this test cannot make)";
          return false;
        }
        int mode = static_cast<int>(Int(Member(secret, "defaultMode"), 0644));
        if (fs_group) mode |= 0440;  // What the kubelet does for fsGroup.
        if (!WriteItems(secret, it->second, dir, mode, {}, error)) return false;
      } else if (Member(volume, "emptyDir") == nullptr &&
                 Member(volume, "persistentVolumeClaim") == nullptr) {
        *error = "volume " + name + " is of a kind this test cannot map";
        return false;
      }
    }
    return true;
  }

  // Container path -> host path for each volumeMount of `container`, longest first.
  std::vector<std::pair<std::string, std::string>> Mounts(const Value* container) const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const Value* m : Items(Member(container, "volumeMounts"))) {
      auto dir = volume_dirs_.find(Str(Member(m, "name")));
      if (dir != volume_dirs_.end()) out.emplace_back(Str(Member(m, "mountPath")), dir->second);
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    return out;
  }

  const std::string& root() const { return root_.path(); }

 private:
  bool WriteItems(const Value* source, const std::map<std::string, std::string>& data,
                  const std::string& dir, int mode,
                  const std::vector<std::pair<std::string, std::string>>& mounts,
                  std::string* error) {
    std::vector<std::pair<std::string, std::string>> files;  // key -> path in the volume
    if (const Value* items = Member(source, "items")) {
      for (const Value* item : Items(items)) {
        files.emplace_back(Str(Member(item, "key")), Str(Member(item, "path")));
      }
    } else {
      for (const auto& [key, unused] : data) files.emplace_back(key, key);
    }
    for (const auto& [key, path] : files) {
      auto it = data.find(key);
      if (it == data.end()) {
        *error = "no key " + key + " to mount";
        return false;
      }
      testing::WriteFile(dir + "/" + path, MapPaths(it->second, mounts), mode);
    }
    return true;
  }

 public:
  // Replaces container paths that start a word (after start, '=', ',', space or a quote) by
  // their host folders, in one pass so nothing is mapped twice.
  static std::string MapPaths(const std::string& text,
                              const std::vector<std::pair<std::string, std::string>>& mounts) {
    auto separator = [](char c) {
      return std::string_view("=, \t\n\"':").find(c) != std::string::npos;
    };
    std::string out;
    for (size_t i = 0; i < text.size();) {
      bool replaced = false;
      if (i == 0 || separator(text[i - 1])) {
        for (const auto& [from, to] : mounts) {
          size_t end = i + from.size();
          if (text.compare(i, from.size(), from) == 0 &&
              (end == text.size() || text[end] == '/' || separator(text[end]))) {
            out += to;
            i = end;
            replaced = true;
            break;
          }
        }
      }
      if (!replaced) out += text[i++];
    }
    return out;
  }

 private:
  const Rendered& rendered_;
  const Value* pod_;
  const Secrets secrets_;
  testing::TempDir root_;
  std::map<std::string, std::string> volume_dirs_;
};

// ---- Certificates ------------------------------------------------------------------------------

struct Pki {
  std::string ca_cert;
  std::string server_cert, server_key;
  std::string admin_cert, admin_key;
  std::string validator_cert, validator_key;
};

bool Openssl(const std::vector<std::string>& args, std::string* error) {
  std::vector<std::string> argv = {"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  testing::CommandResult r = testing::RunCommand(argv);
  if (r.exit_code != 0) *error = "openssl " + args[0] + " failed:\n" + r.err;
  return r.exit_code == 0;
}

// A CA, a server certificate for the Service's names and loopback, and two client certificates
// with SPIFFE IDs, made with the openssl command line.
bool MakePki(const std::string& dir, Pki* pki, std::string* error) {
  const std::string ec[] = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"};
  std::vector<std::string> ca = {"req", "-x509"};
  ca.insert(ca.end(), std::begin(ec), std::end(ec));
  ca.insert(ca.end(),
            {"-keyout", dir + "/ca.key", "-out", dir + "/ca.crt", "-subj", "/CN=signet test CA",
             "-days", "2", "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
             "keyUsage=critical,keyCertSign,cRLSign"});
  if (!Openssl(ca, error)) return false;
  auto leaf = [&](const std::string& name, const std::string& cn, const std::string& ext) {
    testing::WriteFile(dir + "/" + name + ".ext", ext);
    std::vector<std::string> req = {"req", "-new"};
    req.insert(req.end(), std::begin(ec), std::end(ec));
    req.insert(req.end(), {"-keyout", dir + "/" + name + ".key", "-out", dir + "/" + name + ".csr",
                           "-subj", "/CN=" + cn});
    return Openssl(req, error) &&
           Openssl(
               {"x509", "-req", "-in", dir + "/" + name + ".csr", "-CA", dir + "/ca.crt", "-CAkey",
                dir + "/ca.key", "-set_serial", std::to_string(1000 + name.size()), "-days", "2",
                "-out", dir + "/" + name + ".crt", "-extfile", dir + "/" + name + ".ext"},
               error);
  };
  if (!leaf("server", "signet",
            absl::StrCat("subjectAltName=DNS:", kServiceDns,
                         ",DNS:signet.signet.svc,DNS:localhost,IP:127.0.0.1\n"
                         "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")) ||
      !leaf("admin", "signet-admin",
            absl::StrCat("subjectAltName=URI:", kAdminIdentity,
                         "\nextendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n")) ||
      !leaf("validator", "orders",
            absl::StrCat("subjectAltName=URI:", kValidatorIdentity,
                         "\nextendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n"))) {
    return false;
  }
  pki->ca_cert = testing::ReadFile(dir + "/ca.crt");
  pki->server_cert = testing::ReadFile(dir + "/server.crt");
  pki->server_key = testing::ReadFile(dir + "/server.key");
  pki->admin_cert = testing::ReadFile(dir + "/admin.crt");
  pki->admin_key = testing::ReadFile(dir + "/admin.key");
  pki->validator_cert = testing::ReadFile(dir + "/validator.crt");
  pki->validator_key = testing::ReadFile(dir + "/validator.key");
  return true;
}

std::shared_ptr<grpc::Channel> TlsChannel(int port, const Pki& pki, const std::string& cert,
                                          const std::string& key) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = pki.ca_cert;
  options.pem_cert_chain = cert;
  options.pem_private_key = key;
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride(kServiceDns);
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port), grpc::SslCredentials(options),
                                   args);
}

std::string RandomKekHex() {
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  std::string bytes(32, '\0');
  urandom.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return absl::BytesToHexString(bytes);
}

// The `member` ("http_port", "probe_port") of the last server_started log line.
int PortFromLog(const std::string& log, const char* member) {
  int port = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (!absl::StrContains(line, "\"event\":\"server_started\"")) continue;
    rapidjson::Document doc;
    doc.Parse(line.data(), line.size());
    port = static_cast<int>(Int(Member(&doc, member), 0));
  }
  return port;
}

// ---- The tests ---------------------------------------------------------------------------------

class K8sManifestsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::FindOnPath("kubectl").empty()) {
      GTEST_SKIP() << "kubectl is not on PATH: the Kustomize manifests in deploy/k8s are not "
                      "checked (install kubectl to run these tests)";
    }
  }

  // Renders an overlay and finds its Deployment, pod spec and signet container.
  void Load(const std::string& overlay) {
    std::string error;
    ASSERT_TRUE(Render(kK8sDir + "/overlays/" + overlay, &rendered_, &error)) << error;
    deployment_ = rendered_.Find("Deployment", "signet");
    ASSERT_NE(deployment_, nullptr) << overlay << " renders no Deployment signet";
    pod_ = Path(deployment_, "spec", "template", "spec");
    ASSERT_NE(pod_, nullptr);
    for (const Value* c : Items(Member(pod_, "containers"))) {
      if (Str(Member(c, "name")) == "signet") container_ = c;
    }
    ASSERT_NE(container_, nullptr) << "no container named signet";
  }

  int ContainerPort(const std::string& name) const {
    for (const Value* p : Items(Member(container_, "ports"))) {
      if (Str(Member(p, "name")) == name) return static_cast<int>(Int(Member(p, "containerPort")));
    }
    return -1;
  }

  // A Service targetPort or probe port (a name or a number) as a container port number.
  int Resolve(const Value* port) const {
    if (port == nullptr) return -1;
    if (port->IsInt()) return port->GetInt();
    return ContainerPort(Str(port));
  }

  std::vector<std::string> Args(const Value* container) const {
    std::vector<std::string> out;
    for (const Value* a : Items(Member(container, "args"))) out.push_back(Str(a));
    return out;
  }

  // The flags the signet container runs with, flagfiles read from the rendered ConfigMaps.
  std::map<std::string, std::string> ContainerFlags() const {
    std::map<std::string, std::string> files;  // container path -> content
    for (const Value* m : Items(Member(container_, "volumeMounts"))) {
      for (const Value* v : Items(Member(pod_, "volumes"))) {
        if (Str(Member(v, "name")) != Str(Member(m, "name"))) continue;
        const Value* cm = Member(v, "configMap");
        if (cm == nullptr) continue;
        const Value* object = rendered_.Find("ConfigMap", Str(Member(cm, "name")));
        const Value* data = Member(object, "data");
        if (data == nullptr) continue;
        for (auto it = data->MemberBegin(); it != data->MemberEnd(); ++it) {
          files[Str(Member(m, "mountPath")) + "/" + it->name.GetString()] = it->value.GetString();
        }
      }
    }
    return EffectiveFlags(Args(container_), [&](const std::string& path) {
      auto it = files.find(path);
      if (it == files.end()) ADD_FAILURE() << "flagfile " << path << " is on no ConfigMap volume";
      return it == files.end() ? std::string() : it->second;
    });
  }

  void ExpectHardened() {
    EXPECT_TRUE(True(Path(pod_, "securityContext", "runAsNonRoot")));
    EXPECT_EQ(Str(Path(pod_, "securityContext", "seccompProfile", "type")), "RuntimeDefault");
    EXPECT_TRUE(False(Member(pod_, "automountServiceAccountToken")));
    const Value* account =
        rendered_.Find("ServiceAccount", Str(Member(pod_, "serviceAccountName")));
    ASSERT_NE(account, nullptr) << "the pod's ServiceAccount is not rendered";
    EXPECT_TRUE(False(Member(account, "automountServiceAccountToken")));

    std::vector<const Value*> containers = Items(Member(pod_, "containers"));
    for (const Value* c : Items(Member(pod_, "initContainers"))) containers.push_back(c);
    std::set<std::string> writable_kinds_ok;
    for (const Value* c : containers) {
      std::string name = Str(Member(c, "name"));
      const Value* sc = Member(c, "securityContext");
      EXPECT_TRUE(False(Member(sc, "allowPrivilegeEscalation"))) << name;
      EXPECT_TRUE(True(Member(sc, "readOnlyRootFilesystem"))) << name;
      std::vector<std::string> dropped;
      for (const Value* d : Items(Path(sc, "capabilities", "drop"))) dropped.push_back(Str(d));
      EXPECT_THAT(dropped, Contains("ALL")) << name;
      EXPECT_EQ(Path(sc, "capabilities", "add"), nullptr) << name;
      EXPECT_NE(Path(c, "resources", "requests", "memory"), nullptr) << name;
      EXPECT_NE(Path(c, "resources", "limits", "memory"), nullptr) << name;
      // Writable only where it must be: emptyDir and PersistentVolumeClaim volumes.
      for (const Value* m : Items(Member(c, "volumeMounts"))) {
        if (True(Member(m, "readOnly"))) continue;
        for (const Value* v : Items(Member(pod_, "volumes"))) {
          if (Str(Member(v, "name")) != Str(Member(m, "name"))) continue;
          EXPECT_TRUE(Member(v, "emptyDir") != nullptr ||
                      Member(v, "persistentVolumeClaim") != nullptr)
              << name << " mounts " << Str(Member(m, "name")) << " writable";
        }
      }
    }
    // One namespace for everything, or references (ConfigMaps, claims) would not resolve.
    std::string ns = Str(Path(deployment_, "metadata", "namespace"));
    EXPECT_FALSE(ns.empty());
    for (const auto& o : rendered_.objects) {
      if (Str(Member(o.get(), "kind")) == "Namespace") continue;
      EXPECT_EQ(Str(Path(o.get(), "metadata", "namespace")), ns)
          << Str(Member(o.get(), "kind")) << " " << Str(Path(o.get(), "metadata", "name"));
    }
    // The signet image's entrypoint is signet-server: the container must not replace it.
    EXPECT_EQ(Member(container_, "command"), nullptr);
    EXPECT_EQ(Member(container_, "env"), nullptr) << "the run below does not map env";
    EXPECT_EQ(Member(container_, "envFrom"), nullptr) << "the run below does not map env";
  }

  void ExpectPortsProbesAndDrainAgree() {
    std::map<std::string, std::string> flags = ContainerFlags();
    int grpc = ContainerPort("grpc");
    int http = ContainerPort("http");
    int probe = ContainerPort("probe");
    EXPECT_EQ(PortOf(flags["listen"]), grpc) << "--listen=" << flags["listen"];
    EXPECT_EQ(PortOf(flags["http_listen"]), http) << "--http_listen=" << flags["http_listen"];
    EXPECT_EQ(PortOf(flags["probe_listen"]), probe) << "--probe_listen=" << flags["probe_listen"];

    const Value* service = rendered_.Find("Service", "signet");
    ASSERT_NE(service, nullptr);
    std::map<std::string, int> targets;
    for (const Value* p : Items(Path(service, "spec", "ports"))) {
      targets[Str(Member(p, "name"))] = Resolve(Member(p, "targetPort"));
    }
    EXPECT_EQ(targets, (std::map<std::string, int>{{"grpc", grpc}, {"http", http}}));
    const Value* headless = rendered_.Find("Service", "signet-headless");
    ASSERT_NE(headless, nullptr);
    EXPECT_EQ(Str(Path(headless, "spec", "clusterIP")), "None");
    for (const Value* p : Items(Path(headless, "spec", "ports"))) {
      EXPECT_EQ(Resolve(Member(p, "targetPort")), grpc);
    }
    std::string app =
        Str(Path(deployment_, "spec", "template", "metadata", "labels", "app.kubernetes.io/name"));
    ASSERT_FALSE(app.empty());
    for (const Value* s : rendered_.All("Service")) {
      EXPECT_EQ(Str(Path(s, "spec", "selector", "app.kubernetes.io/name")), app);
    }

    for (const char* probe_name : {"startupProbe", "readinessProbe", "livenessProbe"}) {
      const Value* p = Member(container_, probe_name);
      ASSERT_NE(p, nullptr) << probe_name;
      if (const Value* g = Member(p, "grpc")) {
        EXPECT_EQ(Resolve(Member(g, "port")), grpc) << probe_name;
        EXPECT_EQ(Str(Member(g, "service")), "") << probe_name;
      } else if (const Value* h = Member(p, "httpGet")) {
        // The probe listener, which JWKS and metrics clients cannot starve.
        EXPECT_EQ(Resolve(Member(h, "port")), probe) << probe_name;
        EXPECT_THAT((std::vector<std::string>{"/readyz", "/healthz"}),
                    Contains(Str(Member(h, "path"))))
            << probe_name;
      } else {
        ADD_FAILURE() << probe_name << " is neither a gRPC nor an HTTP probe";
      }
    }

    absl::Duration drain;
    ASSERT_TRUE(absl::ParseDuration(flags["drain_timeout"], &drain)) << flags["drain_timeout"];
    EXPECT_GT(absl::Seconds(Int(Member(pod_, "terminationGracePeriodSeconds"))), drain);

    // Every file or folder a flag names lies on a mounted volume (the root is read-only).
    std::vector<std::string> mount_paths;
    for (const Value* m : Items(Member(container_, "volumeMounts"))) {
      mount_paths.push_back(Str(Member(m, "mountPath")));
    }
    for (const auto& [name, value] : flags) {
      if (value.empty() || value[0] != '/') continue;
      bool mounted = std::any_of(mount_paths.begin(), mount_paths.end(), [&](const auto& m) {
        return value == m || absl::StartsWith(value, m + "/");
      });
      EXPECT_TRUE(mounted) << "--" << name << "=" << value << " is on no volume";
    }

    const Value* policy = rendered_.Find("NetworkPolicy", "signet");
    ASSERT_NE(policy, nullptr);
    std::set<int> ingress, egress;
    for (const Value* rule : Items(Path(policy, "spec", "ingress"))) {
      for (const Value* p : Items(Member(rule, "ports")))
        ingress.insert(Resolve(Member(p, "port")));
    }
    for (const Value* rule : Items(Path(policy, "spec", "egress"))) {
      for (const Value* p : Items(Member(rule, "ports"))) egress.insert(Resolve(Member(p, "port")));
    }
    // The probe port stays closed to pods (kubelet probes are not subject to NetworkPolicy).
    EXPECT_EQ(ingress, (std::set<int>{grpc, http}));
    EXPECT_EQ(egress, (std::set<int>{53, 5432}));
    // No egress rule opens a port to everywhere: each names its peers, by selectors with labels
    // or by an ipBlock narrower than the whole address space.
    for (const Value* rule : Items(Path(policy, "spec", "egress"))) {
      std::vector<const Value*> peers = Items(Member(rule, "to"));
      EXPECT_FALSE(peers.empty()) << "an egress rule without `to` allows its ports to anywhere";
      for (const Value* peer : peers) {
        const Value* block = Member(peer, "ipBlock");
        if (block != nullptr) {
          std::string cidr = Str(Member(block, "cidr"));
          int prefix = -1;
          std::vector<std::string> parts = absl::StrSplit(cidr, '/');
          ASSERT_EQ(parts.size(), 2u) << cidr;
          ASSERT_TRUE(absl::SimpleAtoi(parts[1], &prefix)) << cidr;
          EXPECT_GE(prefix, absl::StrContains(cidr, ':') ? 64 : 16)
              << "egress ipBlock " << cidr << " is too wide";
          continue;
        }
        bool labelled = false;
        for (const char* selector : {"namespaceSelector", "podSelector"}) {
          const Value* labels = Path(peer, selector, "matchLabels");
          labelled |= labels != nullptr && labels->IsObject() && labels->MemberCount() > 0;
        }
        EXPECT_TRUE(labelled) << "an egress peer selects every pod (no labels)";
      }
    }
  }

  // Starts signet-server as the Deployment would and checks what its probes check. `extra` is
  // appended (later flags win): the listen ports become 0 so tests can run side by side.
  void RunContainer(const Secrets& secrets, const std::vector<std::string>& extra, const Pki* pki) {
    PodSandbox pod(rendered_, pod_, secrets);
    std::string error;
    ASSERT_TRUE(pod.Prepare(container_, &error)) << error;

    for (const Value* init : Items(Member(pod_, "initContainers"))) {
      std::vector<std::pair<std::string, std::string>> mounts = pod.Mounts(init);
      std::vector<std::string> argv;
      for (const Value* a : Items(Member(init, "command"))) argv.push_back(Str(a));
      for (const Value* a : Items(Member(init, "args"))) argv.push_back(Str(a));
      ASSERT_FALSE(argv.empty()) << "init container without a command";
      for (std::string& a : argv) a = PodSandbox::MapPaths(a, mounts);
      testing::CommandResult r = testing::RunCommand(argv);
      ASSERT_EQ(r.exit_code, 0) << "init container " << Str(Member(init, "name"))
                                << " failed: " << r.err;
    }

    std::map<std::string, std::string> flags = ContainerFlags();
    std::vector<std::pair<std::string, std::string>> mounts = pod.Mounts(container_);
    if (!flags["kek_file"].empty()) {
      std::string kek = PodSandbox::MapPaths(flags["kek_file"], mounts);
      absl::StatusOr<std::string> read = server::ReadKekFile(kek);
      EXPECT_TRUE(read.ok()) << "the KEK the container reads: " << read.status().message();
    }

    std::vector<std::string> args = Args(container_);
    for (std::string& a : args) a = PodSandbox::MapPaths(a, mounts);
    args.push_back("--listen=" + HostOf(flags["listen"]) + ":0");
    args.push_back("--http_listen=" + HostOf(flags["http_listen"]) + ":0");
    args.push_back("--probe_listen=" + HostOf(flags["probe_listen"]) + ":0");
    args.insert(args.end(), extra.begin(), extra.end());
    std::unique_ptr<testing::ServerProcess> server =
        testing::ServerProcess::Start(args, pod.root() + "/server.log");
    ASSERT_NE(server->port(), 0);
    int http_port = PortFromLog(server->Log(), "http_port");
    ASSERT_NE(http_port, 0) << server->Log();
    int probe_port = PortFromLog(server->Log(), "probe_port");
    ASSERT_NE(probe_port, 0) << server->Log();

    // With --http_tls (ha) the HTTP port speaks only HTTPS, with the certificate from the TLS
    // Secret: checked against its CA as a JWKS client in the cluster would.
    const bool https = flags.count("http_tls") > 0 && flags["http_tls"] != "false";
    httplib::Client http(absl::StrCat(https ? "https" : "http", "://127.0.0.1:", http_port));
    if (https) {
      ASSERT_NE(pki, nullptr) << "--http_tls without the TLS Secret";
      testing::WriteFile(pod.root() + "/http-ca.crt", pki->ca_cert, 0644);
      http.set_ca_cert_path((pod.root() + "/http-ca.crt").c_str());
      http.enable_server_certificate_verification(true);
      httplib::Client plain("127.0.0.1", http_port);
      plain.set_read_timeout(3, 0);
      httplib::Result refused = plain.Get("/.well-known/jwks.json");
      EXPECT_FALSE(refused && refused->status == 200) << "plaintext served on the https port";
    }
    httplib::Client probes("127.0.0.1", probe_port);
    for (const char* probe : {"startupProbe", "readinessProbe", "livenessProbe"}) {
      const Value* p = Member(container_, probe);
      if (Member(p, "grpc") != nullptr) {
        // What the kubelet does: plaintext Health/Check for "".
        absl::StatusOr<int> status = testing::HealthCheck(testing::NewChannel(server->port()), "");
        ASSERT_TRUE(status.ok()) << probe << ": " << status.status() << "\n" << server->Log();
        EXPECT_EQ(*status, 1) << probe << " (1 = SERVING)";
      } else {
        std::string path = Str(Path(p, "httpGet", "path"));
        httplib::Result r = probes.Get(path.c_str());
        ASSERT_TRUE(r) << probe << ": GET " << path << " failed\n" << server->Log();
        EXPECT_EQ(r->status, 200) << probe << ": GET " << path << " said " << r->body;
      }
    }
    httplib::Result jwks = http.Get("/.well-known/jwks.json");
    ASSERT_TRUE(jwks) << httplib::to_string(jwks.error()) << "\n" << server->Log();
    EXPECT_EQ(jwks->status, 200);
    // The probe listener serves the probes and nothing else.
    httplib::Result not_probe = probes.Get("/.well-known/jwks.json");
    ASSERT_TRUE(not_probe);
    EXPECT_EQ(not_probe->status, 404);

    if (pki == nullptr) {
      // Plaintext: anyone reaching the pod may call (the dev overlay says so).
      std::unique_ptr<v1::TokenService::Stub> stub = testing::NewStub(server->port());
      v1::IssueTokenRequest req;
      req.set_subject("dev-user");
      v1::IssueTokenResponse resp;
      grpc::ClientContext ctx;
      grpc::Status st = stub->IssueToken(&ctx, req, &resp);
      EXPECT_TRUE(st.ok()) << st.error_message();
    } else {
      // Mutual TLS: the health service answers any client of the CA; the policy file from the
      // ConfigMap decides the TokenService.
      absl::StatusOr<int> status = testing::HealthCheck(
          TlsChannel(server->port(), *pki, pki->validator_cert, pki->validator_key), "");
      ASSERT_TRUE(status.ok()) << status.status() << "\n" << server->Log();
      EXPECT_EQ(*status, 1);
      EXPECT_FALSE(testing::HealthCheck(testing::NewChannel(server->port()), "").ok())
          << "plaintext gRPC must be refused when TLS is on";

      auto admin = v1::TokenService::NewStub(
          TlsChannel(server->port(), *pki, pki->admin_cert, pki->admin_key));
      v1::ListKeysResponse keys;
      grpc::ClientContext list_ctx;
      grpc::Status listed = admin->ListKeys(&list_ctx, v1::ListKeysRequest(), &keys);
      EXPECT_TRUE(listed.ok()) << listed.error_message();
      EXPECT_EQ(keys.keys_size(), 2);

      auto validator = v1::TokenService::NewStub(
          TlsChannel(server->port(), *pki, pki->validator_cert, pki->validator_key));
      v1::RevokeKeyRequest revoke;
      revoke.set_key_id(keys.keys_size() > 0 ? keys.keys(0).key_id() : "x");
      v1::RevokeKeyResponse unused;
      grpc::ClientContext revoke_ctx;
      EXPECT_EQ(validator->RevokeKey(&revoke_ctx, revoke, &unused).error_code(),
                grpc::StatusCode::PERMISSION_DENIED);
    }
    EXPECT_EQ(server->Terminate(absl::Seconds(60)), 0) << server->Log();
  }

  Secrets BaseSecrets() { return {{"signet-kek", {{"kek", RandomKekHex()}}}}; }

  Secrets HaSecrets(const Pki& pki, const std::string& dsn) {
    Secrets s = BaseSecrets();
    s["signet-tls"] = {
        {"tls.crt", pki.server_cert}, {"tls.key", pki.server_key}, {"ca.crt", pki.ca_cert}};
    s["signet-postgres"] = {{"dsn", dsn}};
    return s;
  }

  Rendered rendered_;
  const Value* deployment_ = nullptr;
  const Value* pod_ = nullptr;
  const Value* container_ = nullptr;
};

TEST_F(K8sManifestsTest, BaseRenders) {
  Rendered base;
  std::string error;
  EXPECT_TRUE(Render(kK8sDir + "/base", &base, &error)) << error;
  const Value* deployment = base.Find("Deployment", "signet");
  ASSERT_NE(deployment, nullptr);
  // The base has an HPA, so the Deployment must not fix a replica count that apply would reset.
  EXPECT_NE(base.Find("HorizontalPodAutoscaler", "signet"), nullptr);
  EXPECT_EQ(Path(deployment, "spec", "replicas"), nullptr);
}

TEST_F(K8sManifestsTest, DevOverlayRendersOneSqliteReplicaOnAClaim) {
  Load("dev");
  EXPECT_EQ(Int(Path(deployment_, "spec", "replicas")), 1);
  EXPECT_EQ(Str(Path(deployment_, "spec", "strategy", "type")), "Recreate");
  EXPECT_TRUE(rendered_.All("HorizontalPodAutoscaler").empty());
  EXPECT_TRUE(rendered_.All("PodDisruptionBudget").empty());
  std::map<std::string, std::string> flags = ContainerFlags();
  EXPECT_EQ(flags["store"], "sqlite");
  EXPECT_EQ(flags["allow_insecure"], "true");
  EXPECT_EQ(flags["tls_cert_file"], "");
  // The data folder is the PersistentVolumeClaim.
  std::string claim;
  for (const Value* m : Items(Member(container_, "volumeMounts"))) {
    if (Str(Member(m, "mountPath")) != flags["data_dir"]) continue;
    for (const Value* v : Items(Member(pod_, "volumes"))) {
      if (Str(Member(v, "name")) == Str(Member(m, "name"))) {
        claim = Str(Path(v, "persistentVolumeClaim", "claimName"));
      }
    }
  }
  ASSERT_FALSE(claim.empty()) << "--data_dir=" << flags["data_dir"] << " is not on a claim";
  EXPECT_NE(rendered_.Find("PersistentVolumeClaim", claim), nullptr);
}

TEST_F(K8sManifestsTest, HaOverlayRendersThreeSpreadReplicasOnPostgresWithMutualTls) {
  Load("ha");
  // The autoscaler owns the count (minReplicas 3, checked below): no fixed replicas beside it.
  EXPECT_EQ(Path(deployment_, "spec", "replicas"), nullptr);
  std::set<std::string> keys;
  for (const Value* c : Items(Member(pod_, "topologySpreadConstraints"))) {
    keys.insert(Str(Member(c, "topologyKey")));
  }
  EXPECT_EQ(keys, (std::set<std::string>{"topology.kubernetes.io/zone", "kubernetes.io/hostname"}));
  std::map<std::string, std::string> flags = ContainerFlags();
  EXPECT_EQ(flags["store"], "postgres");
  EXPECT_FALSE(flags["postgres_dsn_file"].empty());
  EXPECT_FALSE(flags["tls_cert_file"].empty());
  EXPECT_FALSE(flags["tls_key_file"].empty());
  EXPECT_FALSE(flags["client_ca_file"].empty()) << "mutual TLS needs --client_ca_file";
  EXPECT_FALSE(flags["policy_file"].empty());
  EXPECT_EQ(flags.count("allow_insecure"), 0u);

  const Value* hpa = rendered_.Find("HorizontalPodAutoscaler", "signet");
  ASSERT_NE(hpa, nullptr);
  EXPECT_EQ(Str(Member(hpa, "apiVersion")), "autoscaling/v2");
  EXPECT_EQ(Int(Path(hpa, "spec", "minReplicas")), 3);
  EXPECT_EQ(Str(Path(hpa, "spec", "scaleTargetRef", "name")), "signet");
  ASSERT_EQ(Items(Path(hpa, "spec", "metrics")).size(), 1u);
  EXPECT_EQ(Str(Path(Items(Path(hpa, "spec", "metrics"))[0], "resource", "name")), "cpu");
  const Value* pdb = rendered_.Find("PodDisruptionBudget", "signet");
  ASSERT_NE(pdb, nullptr);
  EXPECT_EQ(Int(Path(pdb, "spec", "maxUnavailable")), 1);
}

// The ha example policy limits what its issuers may mint, and names each caller by namespace and
// service account: no glob admits a whole cluster or namespace (so no single workload can mint
// identities to take every WatchKeys slot).
TEST_F(K8sManifestsTest, HaExamplePolicyLimitsIssuersAndNamesEachServiceAccount) {
  std::ifstream in(kK8sDir + "/overlays/ha/policy.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  ASSERT_FALSE(doc.HasParseError());
  std::vector<const Value*> callers = Items(Member(&doc, "callers"));
  ASSERT_FALSE(callers.empty());
  for (const Value* c : callers) {
    std::string id = Str(Member(c, "spiffe_id"));
    EXPECT_TRUE(absl::StartsWith(id, "spiffe://cluster.local/ns/")) << id;
    EXPECT_THAT(id, HasSubstr("/sa/"));
    EXPECT_FALSE(absl::StrContains(id, '*')) << id << " admits more than one service account";
    std::set<std::string> roles;
    for (const Value* r : Items(Member(c, "roles"))) roles.insert(Str(r));
    if (roles.count("issuer") > 0 || roles.count("admin") > 0) {
      EXPECT_FALSE(Items(Member(c, "subjects")).empty()) << id << " may mint any subject";
      EXPECT_NE(Member(c, "max_ttl"), nullptr) << id;
    }
    if (roles.count("issuer") > 0) {
      EXPECT_FALSE(Items(Member(c, "audiences")).empty()) << id << " may mint any audience";
    }
  }
}

// Kubernetes' recommended labels on every object and pod template of both overlays, and none but
// app.kubernetes.io/name in a selector (a selector cannot change once applied, and one that named
// the version would orphan the pods of the next release).
TEST_F(K8sManifestsTest, EveryObjectCarriesTheRecommendedLabelsAndSelectorsOnlyTheName) {
  for (const std::string overlay : {"dev", "ha"}) {
    rendered_ = Rendered();
    Load(overlay);
    for (const auto& object : rendered_.objects) {
      const std::string what = overlay + " " + Str(Member(object.get(), "kind")) + " " +
                               Str(Path(object.get(), "metadata", "name"));
      std::vector<const Value*> label_sets = {Path(object.get(), "metadata", "labels")};
      if (const Value* t = Path(object.get(), "spec", "template", "metadata", "labels")) {
        label_sets.push_back(t);
      }
      for (const Value* labels : label_sets) {
        EXPECT_EQ(Str(Member(labels, "app.kubernetes.io/name")), "signet") << what;
        EXPECT_EQ(Str(Member(labels, "app.kubernetes.io/instance")), "signet-" + overlay) << what;
        EXPECT_EQ(Str(Member(labels, "app.kubernetes.io/part-of")), "signet") << what;
        EXPECT_EQ(Str(Member(labels, "app.kubernetes.io/managed-by")), "kustomize") << what;
        // The version the image runs.
        const std::string image = Str(Member(container_, "image"));
        EXPECT_EQ(Str(Member(labels, "app.kubernetes.io/version")),
                  image.substr(image.rfind(':') + 1))
            << what;
      }
      const Value* selector = Path(object.get(), "spec", "selector");
      if (selector != nullptr && Member(selector, "matchLabels") != nullptr) {
        selector = Member(selector, "matchLabels");
      }
      if (selector != nullptr && selector->IsObject()) {
        for (const auto& m : selector->GetObject()) {
          EXPECT_EQ(std::string(m.name.GetString()), "app.kubernetes.io/name") << what;
        }
      }
    }
  }
}

// The ha overlay with deploy/k8s/components/COMPONENT added, as the docs tell users to do (in the
// overlay's kustomization, whose namespace then applies to the component's objects too).
bool RenderHaWith(const std::string& component, Rendered* out, std::string* error) {
  testing::TempDir dir;
  const std::string k8s = std::filesystem::relative(kK8sDir, dir.path()).string();
  testing::WriteFile(
      dir.path() + "/kustomization.yaml",
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: signet\n"
      "resources:\n  - " +
          k8s + "/overlays/ha\ncomponents:\n  - " + k8s + "/components/" + component + "\n",
      0644);
  return Render(dir.path(), out, error);
}

// The monitoring component, added to an overlay as the docs say: its PodMonitor selects the
// Deployment's pods and scrapes a port the container has; the PrometheusRule comes along.
TEST_F(K8sManifestsTest, MonitoringComponentScrapesTheSignetPods) {
  Rendered with;
  std::string error;
  ASSERT_TRUE(RenderHaWith("monitoring", &with, &error)) << error;
  const Value* monitor = with.Find("PodMonitor", "signet");
  ASSERT_NE(monitor, nullptr);
  EXPECT_NE(with.Find("PrometheusRule", "signet"), nullptr);
  const Value* deployment = with.Find("Deployment", "signet");
  ASSERT_NE(deployment, nullptr);
  const Value* pod_labels = Path(deployment, "spec", "template", "metadata", "labels");
  const Value* wanted = Path(monitor, "spec", "selector", "matchLabels");
  ASSERT_NE(wanted, nullptr);
  ASSERT_TRUE(wanted->IsObject());
  for (const auto& m : wanted->GetObject()) {
    EXPECT_EQ(Str(Member(pod_labels, m.name.GetString())), Str(&m.value)) << m.name.GetString();
  }
  std::set<std::string> ports;
  for (const Value* c : Items(Path(deployment, "spec", "template", "spec", "containers"))) {
    for (const Value* p : Items(Member(c, "ports"))) ports.insert(Str(Member(p, "name")));
  }
  for (const Value* e : Items(Path(monitor, "spec", "podMetricsEndpoints"))) {
    EXPECT_EQ(ports.count(Str(Member(e, "port"))), 1u) << Str(Member(e, "port"));
    EXPECT_EQ(Str(Member(e, "path")), "/metrics");
  }
}

// The Istio JWT example verifies tokens of this deployment: the issuer its flags set, the JWKS at
// its public URL.
TEST_F(K8sManifestsTest, IstioJwtExampleNamesTheIssuerAndJwksTheManifestsServe) {
  Load("ha");
  std::map<std::string, std::string> flags = ContainerFlags();
  ASSERT_FALSE(flags["public_url"].empty());
  // Without --issuer, the issuer is --public_url (FlagsTest covers the server's side of that).
  const std::string issuer = flags.count("issuer") > 0 ? flags["issuer"] : flags["public_url"];
  const std::string example =
      testing::ReadFile(std::string(SIGNET_SOURCE_DIR) + "/deploy/gateways/istio-jwt.yaml");
  EXPECT_NE(example.find("- issuer: " + issuer + "\n"), std::string::npos) << issuer;
  EXPECT_NE(example.find("jwksUri: " + flags["public_url"] + "/.well-known/jwks.json\n"),
            std::string::npos);
  EXPECT_NE(example.find("- " + issuer + "/*\n"), std::string::npos);
}

// The Envoy jwt_authn example likewise: the provider's issuer, the JWKS URL, and the TLS name it
// expects from the JWKS server (one the certificate of the cert-manager component carries).
TEST_F(K8sManifestsTest, EnvoyJwtExampleNamesTheIssuerAndJwksTheManifestsServe) {
  Load("ha");
  std::map<std::string, std::string> flags = ContainerFlags();
  const std::string public_url = flags["public_url"];
  ASSERT_TRUE(absl::StartsWith(public_url, "https://")) << "the ha overlay serves HTTPS";
  const std::string issuer = flags.count("issuer") > 0 ? flags["issuer"] : public_url;
  const std::string example =
      testing::ReadFile(std::string(SIGNET_SOURCE_DIR) + "/deploy/gateways/envoy-jwt.yaml");
  EXPECT_NE(example.find("issuer: " + issuer + "\n"), std::string::npos) << issuer;
  EXPECT_NE(example.find("uri: " + public_url + "/.well-known/jwks.json\n"), std::string::npos);
  // host:port of the public URL: the cluster's address, SNI and the SAN it requires.
  const std::string authority = public_url.substr(std::string("https://").size());
  const std::string host = authority.substr(0, authority.find(':'));
  const std::string port = authority.substr(authority.find(':') + 1);
  EXPECT_NE(example.find("socket_address: {address: " + host + ", port_value: " + port + "}"),
            std::string::npos);
  EXPECT_NE(example.find("sni: " + host + "\n"), std::string::npos);
  EXPECT_NE(example.find("matcher: {exact: " + host + "}"), std::string::npos);
  const std::string certificate = testing::ReadFile(
      std::string(SIGNET_SOURCE_DIR) + "/deploy/k8s/components/cert-manager/certificate.yaml");
  EXPECT_NE(certificate.find("- " + host + "\n"), std::string::npos)
      << "the certificate does not name " << host;
  // Envoy caches the JWKS no longer than signet's own max-age (300 s).
  EXPECT_NE(example.find("cache_duration: 300s"), std::string::npos);
}

// The cert-manager component writes the Secret the ha Deployment mounts for --tls_cert_file, for a
// certificate that names both Services.
TEST_F(K8sManifestsTest, CertManagerComponentWritesTheTlsSecretTheServerReads) {
  Rendered with;
  std::string error;
  ASSERT_TRUE(RenderHaWith("cert-manager", &with, &error)) << error;
  const Value* certificate = with.Find("Certificate", "signet-tls");
  ASSERT_NE(certificate, nullptr);
  Load("ha");
  const std::string cert_file = ContainerFlags()["tls_cert_file"];
  const std::string cert_dir = cert_file.substr(0, cert_file.rfind('/'));
  std::string volume;
  for (const Value* m : Items(Member(container_, "volumeMounts"))) {
    if (Str(Member(m, "mountPath")) == cert_dir) volume = Str(Member(m, "name"));
  }
  std::string secret;
  for (const Value* v : Items(Member(pod_, "volumes"))) {
    if (Str(Member(v, "name")) == volume) secret = Str(Path(v, "secret", "secretName"));
  }
  ASSERT_FALSE(secret.empty()) << "no Secret volume at " << cert_dir;
  EXPECT_EQ(Str(Path(certificate, "spec", "secretName")), secret);
  std::set<std::string> names;
  for (const Value* n : Items(Path(certificate, "spec", "dnsNames"))) names.insert(Str(n));
  for (const Value* service : with.All("Service")) {
    const std::string fqdn = Str(Path(service, "metadata", "name")) + "." +
                             Str(Path(service, "metadata", "namespace")) + ".svc.cluster.local";
    EXPECT_EQ(names.count(fqdn), 1u) << fqdn << " is not in the certificate";
  }
}

TEST_F(K8sManifestsTest, DevDeploymentIsHardenedAndAgreesWithItsServices) {
  Load("dev");
  ExpectHardened();
  ExpectPortsProbesAndDrainAgree();
}

TEST_F(K8sManifestsTest, HaDeploymentIsHardenedAndAgreesWithItsServices) {
  Load("ha");
  ExpectHardened();
  ExpectPortsProbesAndDrainAgree();
}

TEST_F(K8sManifestsTest, DockerfileAgreesWithTheDeployments) {
  Load("ha");
  std::string dockerfile = testing::ReadFile(kDockerfile);
  ASSERT_FALSE(dockerfile.empty()) << kDockerfile;
  std::string user, entrypoint;
  std::set<int> exposed;
  for (absl::string_view line : absl::StrSplit(dockerfile, '\n')) {
    if (absl::ConsumePrefix(&line, "USER ")) user = std::string(line.substr(0, line.find(':')));
    if (absl::ConsumePrefix(&line, "ENTRYPOINT ")) entrypoint = std::string(line);
    if (absl::ConsumePrefix(&line, "EXPOSE ")) {
      for (absl::string_view p : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
        int port = 0;
        if (absl::SimpleAtoi(p, &port)) exposed.insert(port);
      }
    }
  }
  EXPECT_EQ(user, std::to_string(Int(Path(pod_, "securityContext", "runAsUser"))));
  EXPECT_EQ(exposed, (std::set<int>{ContainerPort("grpc"), ContainerPort("http")}));
  EXPECT_EQ(entrypoint, "[\"/opt/signet/bin/signet-server\"]");
  EXPECT_THAT(dockerfile, HasSubstr("COPY --from=build /opt/signet/bin/signet-server "
                                    "/opt/signet/bin/signetctl /opt/signet/bin/"));
}

TEST_F(K8sManifestsTest, KekSecretAsMountedNeedsTheInitContainerCopy) {
  Load("dev");
  PodSandbox pod(rendered_, pod_, BaseSecrets());
  std::string error;
  ASSERT_TRUE(pod.Prepare(container_, &error)) << error;
  // The Secret file as the kubelet writes it (0440 with fsGroup) is refused: group may read it.
  absl::StatusOr<std::string> raw = server::ReadKekFile(pod.root() + "/volumes/kek-secret/kek");
  ASSERT_FALSE(raw.ok());
  EXPECT_EQ(raw.status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(K8sManifestsTest, DevContainerServesWithItsOwnArguments) {
  Load("dev");
  RunContainer(BaseSecrets(), {}, nullptr);
}

// The ha overlay's TLS, policy, probes and ports with SQLite standing in for PostgreSQL (only
// --store and --data_dir are added), so they are checked even where no PostgreSQL runs.
TEST_F(K8sManifestsTest, HaContainerServesMutualTlsWithSqliteStandingInForPostgres) {
  Load("ha");
  testing::TempDir dir;
  Pki pki;
  std::string error;
  ASSERT_TRUE(MakePki(dir.path(), &pki, &error)) << error;
  RunContainer(HaSecrets(pki, "host=/nonexistent dbname=unused"),
               {"--store=sqlite", "--data_dir=" + dir.path() + "/data"}, &pki);
}

TEST_F(K8sManifestsTest, HaContainerServesWithItsOwnArgumentsOnPostgres) {
#ifdef SIGNET_OPS_WITH_POSTGRES
  std::optional<std::string> admin = testing::TestPostgresDsn();
  if (!admin) {
    GTEST_SKIP() << "the ha overlay is not run on PostgreSQL: " << testing::kNoPostgresMessage;
  }
  Load("ha");
  testing::TestDatabase db(*admin);  // A fresh database: its keys are sealed by this run's KEK.
  ASSERT_EQ(db.error(), "");
  testing::TempDir dir;
  Pki pki;
  std::string error;
  ASSERT_TRUE(MakePki(dir.path(), &pki, &error)) << error;
  RunContainer(HaSecrets(pki, db.dsn()), {}, &pki);
#else
  GTEST_SKIP() << "built without the PostgreSQL test support (tests/integration/ha)";
#endif
}

}  // namespace
}  // namespace signet
