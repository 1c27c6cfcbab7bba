#include "chain_hash.hpp"

#include <openssl/evp.h>

#include "edgerun/check.hpp"

namespace edgerun::journal {

ChainHash::ChainHash() noexcept : context_(EVP_MD_CTX_new()) {
  check(context_ != nullptr, "EVP_MD_CTX_new failed");
}

ChainHash::~ChainHash() { EVP_MD_CTX_free(context_); }

Hash ChainHash::of(const Hash& previous, std::span<const std::byte> bytes) noexcept {
  Hash out{};
  unsigned int length = 0;
  // SHA-256 cannot fail for a valid context and an in-memory input; a
  // failure would be a broken libcrypto, not a condition to handle.
  const bool ok = EVP_DigestInit_ex(context_, EVP_sha256(), nullptr) == 1 &&
                  EVP_DigestUpdate(context_, previous.data(), previous.size()) == 1 &&
                  EVP_DigestUpdate(context_, bytes.data(), bytes.size()) == 1 &&
                  EVP_DigestFinal_ex(context_, reinterpret_cast<unsigned char*>(out.data()), &length) == 1;
  check(ok && length == kHashBytes, "SHA-256 failed");
  return out;
}

}  // namespace edgerun::journal
