#pragma once
// SHA-256 over a previous hash and a record, with OpenSSL's libcrypto. One
// object per thread: the digest context is made once and reused, so hashing
// a record allocates nothing.

#include <span>

#include "edgerun/journal_record.hpp"

struct evp_md_ctx_st;

namespace edgerun::journal {

class ChainHash {
 public:
  ChainHash() noexcept;
  ~ChainHash();
  ChainHash(const ChainHash&) = delete;
  ChainHash& operator=(const ChainHash&) = delete;

  // SHA-256(previous || bytes).
  Hash of(const Hash& previous, std::span<const std::byte> bytes) noexcept;

 private:
  evp_md_ctx_st* context_ = nullptr;
};

}  // namespace edgerun::journal
