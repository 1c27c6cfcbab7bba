#pragma once
// SHA-256 over a previous hash and a record, with OpenSSL's libcrypto.

#include <span>

#include "edgerun/journal_record.hpp"

namespace edgerun::journal {

class ChainHash {
 public:
  // SHA-256(previous || bytes). Allocates nothing.
  static Hash of(const Hash& previous, std::span<const std::byte> bytes) noexcept;
};

}  // namespace edgerun::journal
