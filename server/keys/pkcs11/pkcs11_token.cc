#include "server/keys/pkcs11/pkcs11_token.h"

#include <dlfcn.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <p11-kit/pkcs11.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"

namespace signet::server {
namespace {

std::string RvName(CK_RV rv) {
  switch (rv) {
    case CKR_OK:
      return "CKR_OK";
    case CKR_HOST_MEMORY:
      return "CKR_HOST_MEMORY";
    case CKR_GENERAL_ERROR:
      return "CKR_GENERAL_ERROR";
    case CKR_FUNCTION_FAILED:
      return "CKR_FUNCTION_FAILED";
    case CKR_ARGUMENTS_BAD:
      return "CKR_ARGUMENTS_BAD";
    case CKR_ATTRIBUTE_SENSITIVE:
      return "CKR_ATTRIBUTE_SENSITIVE";
    case CKR_ATTRIBUTE_TYPE_INVALID:
      return "CKR_ATTRIBUTE_TYPE_INVALID";
    case CKR_DEVICE_ERROR:
      return "CKR_DEVICE_ERROR";
    case CKR_DEVICE_MEMORY:
      return "CKR_DEVICE_MEMORY";
    case CKR_DEVICE_REMOVED:
      return "CKR_DEVICE_REMOVED";
    case CKR_KEY_HANDLE_INVALID:
      return "CKR_KEY_HANDLE_INVALID";
    case CKR_MECHANISM_INVALID:
      return "CKR_MECHANISM_INVALID";
    case CKR_OBJECT_HANDLE_INVALID:
      return "CKR_OBJECT_HANDLE_INVALID";
    case CKR_PIN_INCORRECT:
      return "CKR_PIN_INCORRECT";
    case CKR_PIN_LOCKED:
      return "CKR_PIN_LOCKED";
    case CKR_SESSION_CLOSED:
      return "CKR_SESSION_CLOSED";
    case CKR_SLOT_ID_INVALID:
      return "CKR_SLOT_ID_INVALID";
    case CKR_SESSION_HANDLE_INVALID:
      return "CKR_SESSION_HANDLE_INVALID";
    case CKR_SIGNATURE_INVALID:
      return "CKR_SIGNATURE_INVALID";
    case CKR_SIGNATURE_LEN_RANGE:
      return "CKR_SIGNATURE_LEN_RANGE";
    case CKR_TEMPLATE_INCONSISTENT:
      return "CKR_TEMPLATE_INCONSISTENT";
    case CKR_TOKEN_NOT_PRESENT:
      return "CKR_TOKEN_NOT_PRESENT";
    case CKR_TOKEN_NOT_RECOGNIZED:
      return "CKR_TOKEN_NOT_RECOGNIZED";
    case CKR_USER_NOT_LOGGED_IN:
      return "CKR_USER_NOT_LOGGED_IN";
    case CKR_USER_PIN_NOT_INITIALIZED:
      return "CKR_USER_PIN_NOT_INITIALIZED";
    case CKR_BUFFER_TOO_SMALL:
      return "CKR_BUFFER_TOO_SMALL";
    case CKR_CRYPTOKI_NOT_INITIALIZED:
      return "CKR_CRYPTOKI_NOT_INITIALIZED";
    default:
      return absl::StrFormat("CKR_0x%lX", static_cast<unsigned long>(rv));
  }
}

// Return values after which the session, the login or the slot itself must be found again.
bool ConnectionLost(CK_RV rv) {
  switch (rv) {
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
    case CKR_DEVICE_REMOVED:
    case CKR_DEVICE_ERROR:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_TOKEN_NOT_RECOGNIZED:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_CRYPTOKI_NOT_INITIALIZED:
    case CKR_SLOT_ID_INVALID:
      return true;
    default:
      return false;
  }
}

absl::Status Failed(std::string_view what, CK_RV rv) {
  std::string message = absl::StrCat("PKCS#11 ", std::string(what), ": ", RvName(rv));
  if (ConnectionLost(rv)) return absl::UnavailableError(message);
  if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED) {
    return absl::PermissionDeniedError(message);
  }
  return absl::InternalError(message);
}

// A module loaded once per process however many tokens use it: C_Initialize and C_Finalize are
// process-wide in PKCS#11.
struct Module {
  void* handle = nullptr;
  CK_FUNCTION_LIST* functions = nullptr;
  bool finalize = false;  // False when someone else in the process had initialized it.
  int users = 0;
  // Bumped by every C_Finalize + C_Initialize: sessions of an older epoch no longer exist.
  uint64_t epoch = 0;
  absl::Time last_reinitialize = absl::InfinitePast();
};

// At most one re-initialisation of a module per this long: a storm of calls against an absent
// token fails fast instead of queueing on C_Initialize.
constexpr absl::Duration kReinitializeInterval = absl::Seconds(1);

absl::Mutex modules_mu(absl::kConstInit);
// Held shared by every call into a module, exclusively while one is re-initialised: PKCS#11 leaves
// C_Finalize undefined while other threads are inside the library. Taken before modules_mu.
absl::Mutex module_calls(absl::kConstInit);
std::map<std::string, Module>& Modules() ABSL_EXCLUSIVE_LOCKS_REQUIRED(modules_mu) {
  static auto* modules = new std::map<std::string, Module>();
  return *modules;
}

absl::StatusOr<CK_FUNCTION_LIST*> AcquireModule(const std::string& path) {
  absl::MutexLock lock(&modules_mu);
  Module& module = Modules()[path];
  if (module.users > 0) {
    ++module.users;
    return module.functions;
  }
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    Modules().erase(path);
    return absl::InvalidArgumentError(
        absl::StrCat("--pkcs11_module ", path, " cannot be loaded: ", dlerror()));
  }
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(dlsym(handle, "C_GetFunctionList"));
  CK_FUNCTION_LIST* functions = nullptr;
  if (get_list == nullptr || get_list(&functions) != CKR_OK || functions == nullptr) {
    dlclose(handle);
    Modules().erase(path);
    return absl::InvalidArgumentError(
        absl::StrCat("--pkcs11_module ", path, " is not a PKCS#11 library"));
  }
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  CK_RV rv = functions->C_Initialize(&args);
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    dlclose(handle);
    Modules().erase(path);
    return Failed("C_Initialize", rv);
  }
  module = Module{handle, functions, rv == CKR_OK, 1};
  return functions;
}

uint64_t ModuleEpoch(const std::string& path) {
  absl::MutexLock lock(&modules_mu);
  auto it = Modules().find(path);
  return it == Modules().end() ? 0 : it->second.epoch;
}

// Some modules, network HSM clients among them, reach their token again only through a new
// C_Initialize (p11-kit's client reconnects its socket there). Done when the module is ours to
// initialise and no one re-initialised it since `seen_epoch`.
absl::Status ReinitializeModule(const std::string& path, uint64_t seen_epoch) {
  absl::MutexLock calls(&module_calls);
  absl::MutexLock lock(&modules_mu);
  auto it = Modules().find(path);
  if (it == Modules().end()) return absl::UnavailableError("PKCS#11 module not loaded");
  Module& module = it->second;
  if (module.epoch != seen_epoch) return absl::OkStatus();  // Someone else just did.
  if (!module.finalize) return absl::OkStatus();            // Not ours to finalize.
  const absl::Time now = absl::Now();
  if (now - module.last_reinitialize < kReinitializeInterval) {
    return absl::UnavailableError("PKCS#11: the token is unreachable (retrying every second)");
  }
  module.last_reinitialize = now;
  module.functions->C_Finalize(nullptr);
  ++module.epoch;
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  CK_RV rv = module.functions->C_Initialize(&args);
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    return absl::UnavailableError(
        absl::StrCat("PKCS#11 C_Initialize (reconnecting): ", RvName(rv)));
  }
  return absl::OkStatus();
}

void ReleaseModule(const std::string& path) {
  absl::MutexLock lock(&modules_mu);
  auto it = Modules().find(path);
  if (it == Modules().end() || --it->second.users > 0) return;
  if (it->second.finalize) it->second.functions->C_Finalize(nullptr);
  // The library stays mapped: PKCS#11 libraries may leave threads or atexit handlers behind.
  Modules().erase(it);
}

std::string Trimmed(const CK_UTF8CHAR* text, size_t size) {
  std::string s(reinterpret_cast<const char*>(text), size);
  return std::string(absl::StripTrailingAsciiWhitespace(s));
}

CK_ATTRIBUTE Attribute(CK_ATTRIBUTE_TYPE type, const void* value, size_t size) {
  return CK_ATTRIBUTE{type, const_cast<void*>(value), static_cast<CK_ULONG>(size)};
}

// DER of the curves' OIDs, as CKA_EC_PARAMS holds them.
constexpr CK_BYTE kEd25519Oid[] = {0x06, 0x03, 0x2B, 0x65, 0x70};
constexpr CK_BYTE kP256Oid[] = {0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};

// CKA_EC_POINT is a DER OCTET STRING around the point (some tokens give the bare point).
std::string UnwrapPoint(const std::string& der, size_t point_size) {
  if (der.size() == point_size) return der;
  if (der.size() < 2 || static_cast<unsigned char>(der[0]) != 0x04) return "";
  size_t header = 2;
  size_t length = static_cast<unsigned char>(der[1]);
  if (length == 0x81 && der.size() >= 3) {
    length = static_cast<unsigned char>(der[2]);
    header = 3;
  }
  if (length != point_size || der.size() != header + length) return "";
  return der.substr(header);
}

}  // namespace

struct Pkcs11Token::Impl {
  Options options;
  CK_FUNCTION_LIST* f = nullptr;
  std::atomic<int64_t> reconnects{0};

  absl::Mutex mu;
  CK_SLOT_ID slot ABSL_GUARDED_BY(mu) = 0;
  std::vector<CK_SESSION_HANDLE> idle ABSL_GUARDED_BY(mu);
  size_t open ABSL_GUARDED_BY(mu) = 0;
  // Bumped by every reconnection: sessions of an older generation are closed, not reused.
  uint64_t generation ABSL_GUARDED_BY(mu) = 0;

  struct Lease {
    CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
    uint64_t generation = 0;
    uint64_t module_epoch = 0;
  };
  // The module epoch of the sessions in `idle` (all opened in it).
  uint64_t idle_epoch ABSL_GUARDED_BY(mu) = 0;

  ~Impl() {
    absl::ReaderMutexLock calls(&module_calls);
    const uint64_t epoch_now = ModuleEpoch(options.module_path);
    absl::MutexLock lock(&mu);
    if (idle_epoch == epoch_now) {
      for (CK_SESSION_HANDLE s : idle) f->C_CloseSession(s);
    }
    idle.clear();
    OPENSSL_cleanse(options.pin.data(), options.pin.size());
  }

  absl::StatusOr<CK_SLOT_ID> FindSlot() {
    CK_ULONG count = 0;
    CK_RV rv = f->C_GetSlotList(CK_TRUE, nullptr, &count);
    if (rv != CKR_OK) return Failed("C_GetSlotList", rv);
    std::vector<CK_SLOT_ID> slots(count);
    rv = f->C_GetSlotList(CK_TRUE, slots.data(), &count);
    if (rv != CKR_OK) return Failed("C_GetSlotList", rv);
    slots.resize(count);
    for (CK_SLOT_ID id : slots) {
      CK_TOKEN_INFO info;
      if (f->C_GetTokenInfo(id, &info) != CKR_OK) continue;
      if (Trimmed(info.label, sizeof(info.label)) == options.token_label) return id;
    }
    return absl::UnavailableError(absl::StrCat("PKCS#11: no token labelled '", options.token_label,
                                               "' in ", options.module_path, " (", slots.size(),
                                               " tokens present)"));
  }

  // A session of the current generation, logged in. `*lost` tells a failure the token caused
  // (a reconnection may help) from sessions all being busy.
  absl::StatusOr<Lease> Acquire(bool* lost = nullptr) {
    CK_SLOT_ID slot_now;
    Lease lease;
    lease.module_epoch = ModuleEpoch(options.module_path);
    {
      absl::MutexLock lock(&mu);
      auto available = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu) {
        return !idle.empty() || open < options.max_sessions;
      };
      if (!mu.AwaitWithTimeout(absl::Condition(&available), options.session_wait)) {
        return absl::UnavailableError(absl::StrCat("PKCS#11: all ", options.max_sessions,
                                                   " sessions busy for ",
                                                   absl::FormatDuration(options.session_wait)));
      }
      lease.generation = generation;
      if (!idle.empty() && idle_epoch == lease.module_epoch) {
        lease.session = idle.back();
        idle.pop_back();
        return lease;
      }
      // Sessions of an older module epoch died with its C_Finalize.
      open -= idle.size();
      idle.clear();
      idle_epoch = lease.module_epoch;
      ++open;
      slot_now = slot;
    }
    CK_RV rv = f->C_OpenSession(slot_now, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr,
                                &lease.session);
    if (rv == CKR_OK) {
      rv = f->C_Login(lease.session, CKU_USER, reinterpret_cast<CK_UTF8CHAR*>(options.pin.data()),
                      static_cast<CK_ULONG>(options.pin.size()));
      if (rv == CKR_USER_ALREADY_LOGGED_IN) rv = CKR_OK;
      if (rv != CKR_OK) f->C_CloseSession(lease.session);
    }
    if (rv != CKR_OK) {
      absl::MutexLock lock(&mu);
      --open;
      if (lost != nullptr) *lost = ConnectionLost(rv);
      return Failed(rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED ? "C_Login" : "C_OpenSession",
                    rv);
    }
    return lease;
  }

  void Release(Lease lease, bool broken) {
    const uint64_t epoch_now = ModuleEpoch(options.module_path);
    absl::MutexLock lock(&mu);
    if (!broken && lease.generation == generation && lease.module_epoch == epoch_now &&
        idle_epoch == epoch_now) {
      idle.push_back(lease.session);
      return;
    }
    // A handle of an older module epoch may now name another's session: never closed.
    if (lease.module_epoch == epoch_now) f->C_CloseSession(lease.session);
    --open;
  }

  // After a lost connection: every idle session is closed and the slot found again; when the
  // module cannot find it, the module is initialised again (once per second at most) and the slot
  // looked for once more.
  absl::StatusOr<CK_SLOT_ID> FindSlotShared() {
    absl::ReaderMutexLock calls(&module_calls);
    return FindSlot();
  }

  absl::Status Reconnect(uint64_t seen_epoch) {
    reconnects.fetch_add(1, std::memory_order_relaxed);
    {
      absl::ReaderMutexLock calls(&module_calls);
      absl::MutexLock lock(&mu);
      ++generation;
      if (idle_epoch == ModuleEpoch(options.module_path)) {
        for (CK_SESSION_HANDLE s : idle) f->C_CloseSession(s);
      }
      open -= idle.size();
      idle.clear();
    }
    absl::StatusOr<CK_SLOT_ID> found = FindSlotShared();
    if (!found.ok()) {
      if (absl::Status s = ReinitializeModule(options.module_path, seen_epoch); !s.ok()) return s;
      found = FindSlotShared();
    }
    if (!found.ok()) return found.status();
    absl::MutexLock lock(&mu);
    slot = *found;
    return absl::OkStatus();
  }

  // Runs `op` on a session; when the token dropped the session or the login, reconnects and
  // runs it once more.
  template <typename Op>
  CK_RV WithSession(Op op, absl::Status* unavailable) {
    for (int attempt = 0;; ++attempt) {
      bool acquire_lost = false;
      uint64_t epoch;
      absl::StatusOr<Lease> lease;
      CK_RV rv = CKR_OK;
      bool lost = false;
      {
        absl::ReaderMutexLock calls(&module_calls);
        epoch = ModuleEpoch(options.module_path);
        lease = Acquire(&acquire_lost);
        if (lease.ok()) {
          rv = op(lease->session);
          lost = ConnectionLost(rv);
          Release(*lease, lost);
        }
      }
      if (!lease.ok()) {
        if (acquire_lost && attempt == 0) {
          if (absl::Status s = Reconnect(epoch); !s.ok()) {
            *unavailable = s;
            return CKR_GENERAL_ERROR;
          }
          continue;
        }
        *unavailable = lease.status();
        return CKR_GENERAL_ERROR;
      }
      if (!lost || attempt > 0) return rv;
      if (absl::Status s = Reconnect(lease->module_epoch); !s.ok()) {
        *unavailable = s;
        return rv;
      }
    }
  }

  // Handles of key objects by class and id, found once: a search costs the token more than the
  // signature it precedes. Valid while the module is not re-initialised; dropped when the object
  // is destroyed or renamed here, and when the token calls a handle invalid (another process
  // destroyed it), after which the key is looked for again.
  struct CachedHandle {
    CK_OBJECT_HANDLE handle;
    uint64_t module_epoch;
  };
  absl::Mutex handles_mu;
  std::map<std::pair<CK_OBJECT_CLASS, std::string>, CachedHandle> handles
      ABSL_GUARDED_BY(handles_mu);

  void ForgetHandles(std::string_view id) {
    absl::MutexLock lock(&handles_mu);
    for (auto it = handles.begin(); it != handles.end();) {
      it = it->first.second == id ? handles.erase(it) : std::next(it);
    }
  }

  // Runs `use` with key `id`'s handle (CK_OBJECT_HANDLE -> CK_RV); *missing when the token holds
  // no such key. A cached handle the token calls invalid is looked up again once.
  template <typename Use>
  CK_RV WithKey(CK_SESSION_HANDLE s, std::string_view id, CK_OBJECT_CLASS object_class,
                bool* missing, Use use) {
    const uint64_t epoch = ModuleEpoch(options.module_path);
    const auto key = std::make_pair(object_class, std::string(id));
    CK_OBJECT_HANDLE cached = CK_INVALID_HANDLE;
    {
      absl::ReaderMutexLock lock(&handles_mu);
      auto it = handles.find(key);
      if (it != handles.end() && it->second.module_epoch == epoch) cached = it->second.handle;
    }
    if (cached != CK_INVALID_HANDLE) {
      CK_RV r = use(cached);
      if (r != CKR_KEY_HANDLE_INVALID && r != CKR_OBJECT_HANDLE_INVALID) return r;
    }
    std::vector<CK_OBJECT_HANDLE> found;
    CK_RV r = Find(s, id, object_class, &found);
    if (r != CKR_OK) return r;
    if (found.empty()) {
      absl::MutexLock lock(&handles_mu);
      handles.erase(key);
      *missing = true;
      return CKR_OK;
    }
    {
      absl::MutexLock lock(&handles_mu);
      handles[key] = CachedHandle{found[0], epoch};
    }
    return use(found[0]);
  }

  // Object handles with CKA_ID = id (and of `object_class`, unless it is ~0).
  CK_RV Find(CK_SESSION_HANDLE s, std::string_view id, CK_OBJECT_CLASS object_class,
             std::vector<CK_OBJECT_HANDLE>* out) {
    std::vector<CK_ATTRIBUTE> query;
    if (!id.empty()) query.push_back(Attribute(CKA_ID, id.data(), id.size()));
    if (object_class != static_cast<CK_OBJECT_CLASS>(~0UL)) {
      query.push_back(Attribute(CKA_CLASS, &object_class, sizeof(object_class)));
    }
    CK_RV rv = f->C_FindObjectsInit(s, query.data(), static_cast<CK_ULONG>(query.size()));
    if (rv != CKR_OK) return rv;
    CK_OBJECT_HANDLE batch[16];
    CK_ULONG n = 0;
    while ((rv = f->C_FindObjects(s, batch, 16, &n)) == CKR_OK && n > 0) {
      out->insert(out->end(), batch, batch + n);
    }
    CK_RV end = f->C_FindObjectsFinal(s);
    return rv != CKR_OK ? rv : end;
  }

  CK_RV GetAttribute(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type,
                     std::string* out) {
    CK_ATTRIBUTE a{type, nullptr, 0};
    CK_RV rv = f->C_GetAttributeValue(s, o, &a, 1);
    if (rv != CKR_OK) return rv;
    out->assign(a.ulValueLen, '\0');
    a.pValue = out->data();
    return f->C_GetAttributeValue(s, o, &a, 1);
  }
};

Pkcs11Token::Pkcs11Token(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Pkcs11Token::~Pkcs11Token() {
  if (impl_ == nullptr) return;
  const std::string path = impl_->options.module_path;
  impl_.reset();
  ReleaseModule(path);
}

absl::StatusOr<std::unique_ptr<Pkcs11Token>> Pkcs11Token::Open(Options options) {
  if (options.module_path.empty()) return absl::InvalidArgumentError("--pkcs11_module is empty");
  if (options.token_label.empty()) {
    return absl::InvalidArgumentError("--pkcs11_token_label is empty");
  }
  if (options.max_sessions < 1) return absl::InvalidArgumentError("max_sessions must be >= 1");
  absl::StatusOr<CK_FUNCTION_LIST*> functions = AcquireModule(options.module_path);
  if (!functions.ok()) return functions.status();
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->f = *functions;
  std::unique_ptr<Pkcs11Token> token(new Pkcs11Token(std::move(impl)));
  absl::ReaderMutexLock calls(&module_calls);
  absl::StatusOr<CK_SLOT_ID> slot = token->impl_->FindSlot();
  if (!slot.ok()) return slot.status();
  {
    absl::MutexLock lock(&token->impl_->mu);
    token->impl_->slot = *slot;
  }
  // One session now, so that a wrong PIN or an unusable token fails the start.
  absl::StatusOr<Impl::Lease> first = token->impl_->Acquire();
  if (!first.ok()) return first.status();
  token->impl_->Release(*first, false);
  return token;
}

absl::StatusOr<std::string> Pkcs11Token::Generate(Algorithm alg, std::string_view id,
                                                  std::string_view label) {
  Impl& m = *impl_;
  CK_BBOOL yes = CK_TRUE;
  CK_BBOOL no = CK_FALSE;
  std::string public_key;
  absl::Status unavailable;
  bool exists = false;
  bool bad_point = false;
  CK_RV rv = m.WithSession(
      [&](CK_SESSION_HANDLE s) -> CK_RV {
        std::vector<CK_OBJECT_HANDLE> found;
        CK_RV r = m.Find(s, id, static_cast<CK_OBJECT_CLASS>(~0UL), &found);
        if (r != CKR_OK) return r;
        if (!found.empty()) {
          exists = true;
          return CKR_OK;
        }
        std::vector<CK_ATTRIBUTE> secret = {
            Attribute(CKA_TOKEN, &yes, sizeof(yes)),
            Attribute(CKA_PRIVATE, &yes, sizeof(yes)),
            Attribute(CKA_SENSITIVE, &yes, sizeof(yes)),
            Attribute(CKA_EXTRACTABLE, &no, sizeof(no)),
            Attribute(CKA_SIGN, &yes, sizeof(yes)),
            Attribute(CKA_ID, id.data(), id.size()),
            Attribute(CKA_LABEL, label.data(), label.size()),
        };
        if (alg == Algorithm::kHS256) {
          CK_MECHANISM mech{CKM_GENERIC_SECRET_KEY_GEN, nullptr, 0};
          CK_ULONG length = 32;
          CK_KEY_TYPE type = CKK_GENERIC_SECRET;
          secret.push_back(Attribute(CKA_VERIFY, &yes, sizeof(yes)));
          secret.push_back(Attribute(CKA_VALUE_LEN, &length, sizeof(length)));
          secret.push_back(Attribute(CKA_KEY_TYPE, &type, sizeof(type)));
          CK_OBJECT_HANDLE key;
          return m.f->C_GenerateKey(s, &mech, secret.data(), static_cast<CK_ULONG>(secret.size()),
                                    &key);
        }
        const bool ed = alg == Algorithm::kEdDSA;
        CK_MECHANISM mech{ed ? CKM_EC_EDWARDS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, nullptr, 0};
        std::vector<CK_ATTRIBUTE> pub = {
            Attribute(CKA_TOKEN, &yes, sizeof(yes)),
            Attribute(CKA_PRIVATE, &no, sizeof(no)),
            Attribute(CKA_VERIFY, &yes, sizeof(yes)),
            ed ? Attribute(CKA_EC_PARAMS, kEd25519Oid, sizeof(kEd25519Oid))
               : Attribute(CKA_EC_PARAMS, kP256Oid, sizeof(kP256Oid)),
            Attribute(CKA_ID, id.data(), id.size()),
            Attribute(CKA_LABEL, label.data(), label.size()),
        };
        CK_OBJECT_HANDLE pub_key, priv_key;
        r = m.f->C_GenerateKeyPair(s, &mech, pub.data(), static_cast<CK_ULONG>(pub.size()),
                                   secret.data(), static_cast<CK_ULONG>(secret.size()), &pub_key,
                                   &priv_key);
        if (r != CKR_OK) return r;
        std::string der;
        r = m.GetAttribute(s, pub_key, CKA_EC_POINT, &der);
        if (r != CKR_OK) return r;
        public_key = UnwrapPoint(der, ed ? 32 : 65);
        if (public_key.empty() || (!ed && public_key[0] != 0x04)) {
          bad_point = true;
          return CKR_OK;
        }
        if (!ed) public_key.erase(0, 1);  // 0x04 || x || y -> x || y
        return CKR_OK;
      },
      &unavailable);
  if (!unavailable.ok()) return unavailable;
  if (rv != CKR_OK) return Failed("key generation", rv);
  if (exists) {
    return absl::AlreadyExistsError(
        absl::StrCat("PKCS#11: the token already holds id ", std::string(id)));
  }
  if (bad_point) {
    (void)Destroy(id);
    return absl::InternalError("PKCS#11: the token gave a public key signet cannot read");
  }
  return public_key;
}

absl::StatusOr<std::string> Pkcs11Token::Sign(Algorithm alg, std::string_view id,
                                              std::string_view data) {
  Impl& m = *impl_;
  std::string input(data);
  CK_MECHANISM mech{CKM_EDDSA, nullptr, 0};
  CK_OBJECT_CLASS object_class = CKO_PRIVATE_KEY;
  size_t size = 64;
  if (alg == Algorithm::kES256) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
    input.assign(reinterpret_cast<const char*>(digest), sizeof(digest));
    mech.mechanism = CKM_ECDSA;
  } else if (alg == Algorithm::kHS256) {
    mech.mechanism = CKM_SHA256_HMAC;
    object_class = CKO_SECRET_KEY;
    size = 32;
  }
  std::string signature(64, '\0');
  bool missing = false;
  absl::Status unavailable;
  CK_RV rv = m.WithSession(
      [&](CK_SESSION_HANDLE s) -> CK_RV {
        return m.WithKey(s, id, object_class, &missing, [&](CK_OBJECT_HANDLE key) {
          CK_RV r = m.f->C_SignInit(s, &mech, key);
          if (r != CKR_OK) return r;
          signature.assign(64, '\0');
          CK_ULONG length = static_cast<CK_ULONG>(signature.size());
          r = m.f->C_Sign(s, reinterpret_cast<CK_BYTE*>(input.data()),
                          static_cast<CK_ULONG>(input.size()),
                          reinterpret_cast<CK_BYTE*>(signature.data()), &length);
          signature.resize(length);
          return r;
        });
      },
      &unavailable);
  if (!unavailable.ok()) return unavailable;
  if (rv != CKR_OK) return Failed("C_Sign", rv);
  if (missing)
    return absl::NotFoundError(absl::StrCat("PKCS#11: the token holds no key ", std::string(id)));
  if (signature.size() != size) {
    return absl::InternalError(
        absl::StrCat("PKCS#11: a signature of ", signature.size(), " bytes, expected ", size));
  }
  return signature;
}

absl::StatusOr<bool> Pkcs11Token::VerifyHmac(std::string_view id, std::string_view data,
                                             std::string_view mac) {
  Impl& m = *impl_;
  std::string input(data);
  std::string tag(mac);
  CK_MECHANISM mech{CKM_SHA256_HMAC, nullptr, 0};
  bool missing = false;
  absl::Status unavailable;
  CK_RV rv = m.WithSession(
      [&](CK_SESSION_HANDLE s) -> CK_RV {
        return m.WithKey(s, id, CKO_SECRET_KEY, &missing, [&](CK_OBJECT_HANDLE key) {
          CK_RV r = m.f->C_VerifyInit(s, &mech, key);
          if (r != CKR_OK) return r;
          return m.f->C_Verify(
              s, reinterpret_cast<CK_BYTE*>(input.data()), static_cast<CK_ULONG>(input.size()),
              reinterpret_cast<CK_BYTE*>(tag.data()), static_cast<CK_ULONG>(tag.size()));
        });
      },
      &unavailable);
  if (!unavailable.ok()) return unavailable;
  if (missing)
    return absl::NotFoundError(absl::StrCat("PKCS#11: the token holds no key ", std::string(id)));
  if (rv == CKR_SIGNATURE_INVALID || rv == CKR_SIGNATURE_LEN_RANGE) return false;
  if (rv != CKR_OK) return Failed("C_Verify", rv);
  return true;
}

absl::Status Pkcs11Token::Rename(std::string_view from, std::string_view to) {
  Impl& m = *impl_;
  m.ForgetHandles(from);
  m.ForgetHandles(to);
  absl::Status unavailable;
  bool missing = false;
  std::string new_id(to);
  CK_RV rv = m.WithSession(
      [&](CK_SESSION_HANDLE s) -> CK_RV {
        std::vector<CK_OBJECT_HANDLE> found;
        CK_RV r = m.Find(s, from, static_cast<CK_OBJECT_CLASS>(~0UL), &found);
        if (r != CKR_OK) return r;
        missing = found.empty();
        CK_ATTRIBUTE id = Attribute(CKA_ID, new_id.data(), new_id.size());
        for (CK_OBJECT_HANDLE o : found) {
          if ((r = m.f->C_SetAttributeValue(s, o, &id, 1)) != CKR_OK) return r;
        }
        return CKR_OK;
      },
      &unavailable);
  if (!unavailable.ok()) return unavailable;
  if (rv != CKR_OK) return Failed("C_SetAttributeValue(CKA_ID)", rv);
  if (missing) {
    return absl::NotFoundError(absl::StrCat("PKCS#11: the token holds no key ", std::string(from)));
  }
  return absl::OkStatus();
}

absl::Status Pkcs11Token::Destroy(std::string_view id) {
  Impl& m = *impl_;
  m.ForgetHandles(id);
  absl::Status unavailable;
  CK_RV rv = m.WithSession(
      [&](CK_SESSION_HANDLE s) -> CK_RV {
        std::vector<CK_OBJECT_HANDLE> found;
        CK_RV r = m.Find(s, id, static_cast<CK_OBJECT_CLASS>(~0UL), &found);
        if (r != CKR_OK) return r;
        for (CK_OBJECT_HANDLE o : found) {
          r = m.f->C_DestroyObject(s, o);
          if (r != CKR_OK && r != CKR_OBJECT_HANDLE_INVALID) return r;
        }
        return CKR_OK;
      },
      &unavailable);
  if (!unavailable.ok()) return unavailable;
  if (rv != CKR_OK) return Failed("C_DestroyObject", rv);
  return absl::OkStatus();
}

absl::Status Pkcs11Token::Check() {
  Impl& m = *impl_;
  absl::Status unavailable;
  CK_RV rv = m.WithSession(
      [&](CK_SESSION_HANDLE s) -> CK_RV {
        CK_SESSION_INFO info;
        CK_RV r = m.f->C_GetSessionInfo(s, &info);
        if (r == CKR_OK && info.state != CKS_RW_USER_FUNCTIONS &&
            info.state != CKS_RO_USER_FUNCTIONS) {
          return CKR_USER_NOT_LOGGED_IN;
        }
        return r;
      },
      &unavailable);
  if (!unavailable.ok()) return unavailable;
  if (rv != CKR_OK) return absl::UnavailableError(Failed("C_GetSessionInfo", rv).message());
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Pkcs11Token::KeyObject>> Pkcs11Token::ListKeys() {
  Impl& m = *impl_;
  std::vector<KeyObject> keys;
  absl::Status unavailable;
  CK_RV rv = m.WithSession(
      [&](CK_SESSION_HANDLE s) -> CK_RV {
        keys.clear();
        for (CK_OBJECT_CLASS object_class : {CKO_PRIVATE_KEY, CKO_SECRET_KEY}) {
          std::vector<CK_OBJECT_HANDLE> found;
          CK_RV r = m.Find(s, "", object_class, &found);
          if (r != CKR_OK) return r;
          for (CK_OBJECT_HANDLE o : found) {
            KeyObject key;
            if ((r = m.GetAttribute(s, o, CKA_ID, &key.id)) != CKR_OK) return r;
            if ((r = m.GetAttribute(s, o, CKA_LABEL, &key.label)) != CKR_OK) return r;
            keys.push_back(std::move(key));
          }
        }
        return CKR_OK;
      },
      &unavailable);
  if (!unavailable.ok()) return unavailable;
  if (rv != CKR_OK) return Failed("listing keys", rv);
  return keys;
}

absl::Status Pkcs11Token::TryExtract(std::string_view id) {
  Impl& m = *impl_;
  absl::Status unavailable;
  bool missing = false;
  CK_ULONG length = 0;
  CK_RV rv = m.WithSession(
      [&](CK_SESSION_HANDLE s) -> CK_RV {
        std::vector<CK_OBJECT_HANDLE> found;
        CK_RV r = m.Find(s, id, CKO_PRIVATE_KEY, &found);
        if (r == CKR_OK && found.empty()) r = m.Find(s, id, CKO_SECRET_KEY, &found);
        if (r != CKR_OK) return r;
        if (found.empty()) {
          missing = true;
          return CKR_OK;
        }
        CK_ATTRIBUTE a{CKA_VALUE, nullptr, 0};
        r = m.f->C_GetAttributeValue(s, found[0], &a, 1);
        length = a.ulValueLen;
        return r;
      },
      &unavailable);
  if (!unavailable.ok()) return unavailable;
  if (missing)
    return absl::NotFoundError(absl::StrCat("PKCS#11: the token holds no key ", std::string(id)));
  if (rv == CKR_OK && length != CK_UNAVAILABLE_INFORMATION && length > 0) {
    return absl::OkStatus();  // The token would give the value out.
  }
  return absl::PermissionDeniedError(
      absl::StrCat("PKCS#11: the token refuses CKA_VALUE: ", RvName(rv)));
}

int64_t Pkcs11Token::reconnects() const {
  return impl_->reconnects.load(std::memory_order_relaxed);
}

}  // namespace signet::server
