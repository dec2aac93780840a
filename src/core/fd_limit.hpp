#pragma once
// The process's open-file limit (RLIMIT_NOFILE). Every socket is a descriptor, so sluiced raises
// its soft limit to the hard limit at start instead of living with a distribution's 1024.
#include <cstdint>
#include <string>

namespace sluice {

struct FdLimit {
  std::uint64_t before = 0;  // soft limit found
  std::uint64_t after = 0;   // soft limit now
  std::uint64_t hard = 0;    // hard limit (RLIM_INFINITY as UINT64_MAX)
  std::string error;         // why raising failed; empty on success
};

// Raises the soft RLIMIT_NOFILE to the hard limit (capped at the kernel's nr_open when the hard
// limit is unlimited). Call once at start, before threads accept connections.
FdLimit raise_fd_limit();

}  // namespace sluice
