#include "server/store/envelope.h"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/store/internal/files.h"
#include "server/store/secret_file.h"
#include "token/openssl/openssl_ptr.h"

namespace signet::server {
namespace {

constexpr size_t kKekSize = 32;
constexpr uint8_t kVersion = 1;
constexpr size_t kNonceSize = 12;
constexpr size_t kTagSize = 16;
constexpr size_t kOverhead = 1 + kNonceSize + kTagSize;
// Larger files are certainly not a KEK; reading stops there.
constexpr size_t kMaxKekFileSize = 128;

constexpr char kOpenFailed[] = "wrong key-encryption key or tampered key record";

using CipherCtxPtr = OpenSslPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* Bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

// Zeroes a buffer that held key material when it goes out of scope.
class Cleanser {
 public:
  explicit Cleanser(std::string* s) : s_(s) {}
  ~Cleanser() { OPENSSL_cleanse(s_->data(), s_->size()); }
  Cleanser(const Cleanser&) = delete;
  Cleanser& operator=(const Cleanser&) = delete;

 private:
  std::string* s_;
};

bool IsHex(std::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Decodes the KEK file's contents; messages give sizes and the path, never contents.
absl::StatusOr<std::string> ParseKek(std::string_view text, const std::string& path) {
  if (text.size() == kKekSize + 1 || text.size() == 2 * kKekSize + 1 || text.size() == 45) {
    if (text.back() == '\n') text.remove_suffix(1);
  }
  if (text.size() == kKekSize) return std::string(text);
  if (text.size() == 2 * kKekSize) {
    if (!IsHex(text)) {
      return absl::InvalidArgumentError(
          absl::StrCat("key-encryption key file ", path,
                       " holds 64 characters that are not all hexadecimal digits"));
    }
    return absl::HexStringToBytes(absl::string_view(text.data(), text.size()));
  }
  if (text.size() == 44) {
    std::string decoded;
    Cleanser cleanse_decoded(&decoded);
    std::string canonical;
    Cleanser cleanse_canonical(&canonical);
    if (absl::Base64Unescape(absl::string_view(text.data(), text.size()), &decoded) &&
        decoded.size() == kKekSize) {
      canonical = absl::Base64Escape(decoded);
      if (canonical == text) return std::string(decoded);
    }
    return absl::InvalidArgumentError(
        absl::StrCat("key-encryption key file ", path,
                     " holds 44 characters that are not standard base64 of 32 bytes"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("key-encryption key file ", path, " holds ", text.size(),
                   " bytes; expected 32 raw bytes, 64 hexadecimal characters or 44 characters "
                   "of base64, each optionally followed by one newline"));
}

}  // namespace

absl::StatusOr<Envelope> Envelope::Create(std::string_view kek) {
  if (kek.size() != kKekSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("a key-encryption key must be 32 bytes, not ", kek.size()));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  if (EVP_Digest(kek.data(), kek.size(), digest, &digest_size, EVP_sha256(), nullptr) != 1 ||
      digest_size < 8) {
    return absl::InternalError("SHA-256 of the key-encryption key failed");
  }
  std::string fingerprint =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 8));
  absl::StatusOr<GuardedSecret> guarded = GuardedSecret::Copy(kek);
  if (!guarded.ok()) return guarded.status();
  return Envelope(*std::move(guarded), std::move(fingerprint));
}

absl::StatusOr<std::string> Envelope::DeriveKey(std::string_view label) const {
  OpenSslPtr<EVP_KDF, EVP_KDF_free> kdf(EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_HKDF, nullptr));
  if (kdf == nullptr) return absl::InternalError("HKDF is not available in OpenSSL");
  OpenSslPtr<EVP_KDF_CTX, EVP_KDF_CTX_free> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (ctx == nullptr) return absl::InternalError("HKDF set-up failed");
  char digest[] = "SHA256";
  std::string info(label);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(kek_.view().data()),
                                        kek_.view().size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
      OSSL_PARAM_construct_end()};
  std::string derived(kKekSize, '\0');
  if (EVP_KDF_derive(ctx.get(), Bytes(derived), derived.size(), params) != 1) {
    OPENSSL_cleanse(derived.data(), derived.size());
    return absl::InternalError("HKDF-SHA256 derivation failed");
  }
  return derived;
}

absl::StatusOr<std::string> Envelope::Seal(std::string_view plaintext,
                                           std::string_view associated) const {
  if (plaintext.size() > static_cast<size_t>(INT_MAX) - kOverhead ||
      associated.size() > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError("envelope input too large");
  }
  std::string sealed(kOverhead + plaintext.size(), '\0');
  sealed[0] = static_cast<char>(kVersion);
  unsigned char* nonce = Bytes(sealed) + 1;
  unsigned char* ciphertext = nonce + kNonceSize;
  unsigned char* tag = ciphertext + plaintext.size();
  if (RAND_bytes(nonce, kNonceSize) != 1) {
    return absl::InternalError("random generator failed while sealing a key");
  }

  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (ctx == nullptr ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, Bytes(kek_.view()), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(associated),
                        static_cast<int>(associated.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), ciphertext, &len, Bytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), ciphertext + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, tag) != 1) {
    OPENSSL_cleanse(sealed.data(), sealed.size());
    return absl::InternalError("AES-256-GCM sealing failed");
  }
  return sealed;
}

absl::StatusOr<std::string> Envelope::Open(std::string_view sealed,
                                           std::string_view associated) const {
  if (sealed.size() < kOverhead) {
    return absl::DataLossError(absl::StrCat("sealed key record is truncated: ", sealed.size(),
                                            " bytes, at least ", kOverhead, " expected"));
  }
  if (static_cast<uint8_t>(sealed[0]) != kVersion) {
    return absl::DataLossError(absl::StrCat("sealed key record has unknown envelope version ",
                                            static_cast<int>(static_cast<uint8_t>(sealed[0]))));
  }
  if (sealed.size() > static_cast<size_t>(INT_MAX) ||
      associated.size() > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError("envelope input too large");
  }
  const unsigned char* nonce = Bytes(sealed) + 1;
  const unsigned char* ciphertext = nonce + kNonceSize;
  const size_t ciphertext_size = sealed.size() - kOverhead;
  // OpenSSL takes the expected tag through a non-const pointer; copy it.
  unsigned char tag[kTagSize];
  std::copy(ciphertext + ciphertext_size, ciphertext + ciphertext_size + kTagSize, tag);

  std::string plaintext(ciphertext_size, '\0');
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (ctx == nullptr ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, Bytes(kek_.view()), nonce) != 1) {
    return absl::InternalError("AES-256-GCM set-up failed");
  }
  if (EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(associated),
                        static_cast<int>(associated.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), Bytes(plaintext), &len, ciphertext,
                        static_cast<int>(ciphertext_size)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), Bytes(plaintext) + len, &len) != 1) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return absl::PermissionDeniedError(kOpenFailed);
  }
  return plaintext;
}

absl::StatusOr<std::string> ReadKekFile(const std::string& path) {
  absl::StatusOr<std::string> contents =
      ReadSecretFile(path, kMaxKekFileSize, "key-encryption key file");
  if (!contents.ok()) return contents.status();
  Cleanser cleanse_contents(&*contents);
  return ParseKek(*contents, path);
}

absl::StatusOr<std::string> LoadOrCreateKekFile(const std::string& path, bool* created) {
  if (created != nullptr) *created = false;
  const std::string folder = internal::ParentFolder(path);
  if (absl::Status status = internal::EnsureFolder(folder); !status.ok()) return status;
  if (access(path.c_str(), F_OK) == 0) return ReadKekFile(path);

  std::string kek(kKekSize, '\0');
  Cleanser cleanse_kek(&kek);
  unsigned char suffix[8];
  if (RAND_bytes(Bytes(kek), static_cast<int>(kek.size())) != 1 ||
      RAND_bytes(suffix, sizeof(suffix)) != 1) {
    return absl::InternalError("random generator failed while making a key-encryption key");
  }
  // Written whole to a file of its own, then linked into place: a crash at any moment leaves
  // either no KEK file or a complete one, never a half-written key that the next start refuses.
  // link() never replaces an existing file, so two processes starting at once agree on one KEK.
  const std::string temp = absl::StrCat(
      path, ".tmp-",
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(suffix), 8)));
  const int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) {
    return internal::ErrnoStatus(errno,
                                 absl::StrCat("cannot create key-encryption key file ", temp));
  }
  absl::Status status;
  // The umask may have narrowed the mode; the owner must be able to read the key back.
  if (fchmod(fd, 0600) != 0) {
    status = internal::ErrnoStatus(errno, absl::StrCat("cannot chmod 0600 ", temp));
  }
  size_t written = 0;
  while (status.ok() && written < kek.size()) {
    const ssize_t n = write(fd, kek.data() + written, kek.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = internal::ErrnoStatus(errno, absl::StrCat("cannot write ", temp));
    } else {
      written += static_cast<size_t>(n);
    }
  }
  if (status.ok() && fsync(fd) != 0) {
    status = internal::ErrnoStatus(errno, absl::StrCat("cannot sync ", temp));
  }
  if (close(fd) != 0 && status.ok()) {
    status = internal::ErrnoStatus(errno, absl::StrCat("cannot close ", temp));
  }
  bool lost_race = false;
  if (status.ok() && link(temp.c_str(), path.c_str()) != 0) {
    if (errno == EEXIST) {
      lost_race = true;  // Another process made it first: use theirs.
    } else {
      status = internal::ErrnoStatus(errno,
                                     absl::StrCat("cannot create key-encryption key file ", path));
    }
  }
  unlink(temp.c_str());
  if (!status.ok()) return status;
  if (lost_race) return ReadKekFile(path);
  if (absl::Status synced = internal::SyncFolder(folder); !synced.ok()) return synced;
  if (created != nullptr) *created = true;
  return std::string(kek);
}

}  // namespace signet::server
