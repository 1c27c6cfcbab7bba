#pragma once

// Job ids that edgerunctl makes up when the user gives none. The rules ids
// follow are the protocol's (edgerun/ids.hpp).

#include <string>

namespace edgerun::ctl {

// "ctl-<ms since epoch, hex>-<32 random bits, hex>": unique enough per
// device, and always a valid id.
std::string generate_job_id();

}  // namespace edgerun::ctl
