// Owning pointers for OpenSSL objects: the one RAII holder signet's components use.
//
// Example:
//   signet::EvpPkeyPtr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw, 32));
//   signet::OpenSslPtr<X509, X509_free> cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
//
// Header-only and not installed: the client library's public headers never mention OpenSSL.
#ifndef SIGNET_TOKEN_OPENSSL_OPENSSL_PTR_H_
#define SIGNET_TOKEN_OPENSSL_OPENSSL_PTR_H_

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <memory>

namespace signet {

// Calls OpenSSL's `kFree` (EVP_PKEY_free, BN_clear_free, ...) on the held object.
template <auto kFree>
struct OpenSslFree {
  template <typename T>
  void operator()(T* p) const {
    kFree(p);
  }
};

// A std::unique_ptr that frees `T` with `kFree`.
template <typename T, auto kFree>
using OpenSslPtr = std::unique_ptr<T, OpenSslFree<kFree>>;

// Keys, and the contexts that use them.
using EvpPkeyPtr = OpenSslPtr<EVP_PKEY, EVP_PKEY_free>;
using EvpPkeyCtxPtr = OpenSslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;

// Digests and MACs.
using EvpMdPtr = OpenSslPtr<EVP_MD, EVP_MD_free>;
using EvpMdCtxPtr = OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using EvpMacPtr = OpenSslPtr<EVP_MAC, EVP_MAC_free>;
using EvpMacCtxPtr = OpenSslPtr<EVP_MAC_CTX, EVP_MAC_CTX_free>;

// Numbers and elliptic-curve values. Private scalars use SecretBignumPtr (cleared when freed).
using BignumPtr = OpenSslPtr<BIGNUM, BN_free>;
using SecretBignumPtr = OpenSslPtr<BIGNUM, BN_clear_free>;
using BnCtxPtr = OpenSslPtr<BN_CTX, BN_CTX_free>;
using EcGroupPtr = OpenSslPtr<EC_GROUP, EC_GROUP_free>;
using EcPointPtr = OpenSslPtr<EC_POINT, EC_POINT_free>;
using EcdsaSigPtr = OpenSslPtr<ECDSA_SIG, ECDSA_SIG_free>;

// Parameter lists (OSSL_PARAM) and their builders.
using ParamBldPtr = OpenSslPtr<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
using ParamPtr = OpenSslPtr<OSSL_PARAM, OSSL_PARAM_free>;

}  // namespace signet

#endif  // SIGNET_TOKEN_OPENSSL_OPENSSL_PTR_H_
