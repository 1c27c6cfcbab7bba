// OpenSSL 3.0 deprecates SHA256_Init/Update/Final for the EVP interface, but
// EVP_DigestInit_ex there frees and allocates the digest's context on every
// call (per record: 3.6 allocations a job in tests/unit/test_allocation.cpp),
// while these work on a context on the stack. They remain in every OpenSSL 3.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "chain_hash.hpp"

#include <openssl/sha.h>

#include "edgerun/check.hpp"

namespace edgerun::journal {

Hash ChainHash::of(const Hash& previous, std::span<const std::byte> bytes) noexcept {
  Hash out{};
  SHA256_CTX context;
  // SHA-256 cannot fail on memory it is handed; a failure would be a broken
  // libcrypto, not a condition to handle.
  const bool ok = SHA256_Init(&context) == 1 && SHA256_Update(&context, previous.data(), previous.size()) == 1 &&
                  SHA256_Update(&context, bytes.data(), bytes.size()) == 1 &&
                  SHA256_Final(reinterpret_cast<unsigned char*>(out.data()), &context) == 1;
  check(ok, "SHA-256 failed");
  return out;
}

}  // namespace edgerun::journal
