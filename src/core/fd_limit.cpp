#include "core/fd_limit.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace sluice {

FdLimit raise_fd_limit() {
  FdLimit out;
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    out.error = std::strerror(errno);
    return out;
  }
  out.before = out.after = lim.rlim_cur;
  out.hard = lim.rlim_max == RLIM_INFINITY ? UINT64_MAX : lim.rlim_max;
  rlim_t target = lim.rlim_max;
  if (target == RLIM_INFINITY) {
    // setrlimit refuses a soft limit above fs.nr_open even when the hard limit is unlimited.
    std::ifstream nr_open("/proc/sys/fs/nr_open");
    std::uint64_t n = 0;
    target = nr_open >> n ? n : 1'048'576;
  }
  if (lim.rlim_cur >= target) return out;
  lim.rlim_cur = target;
  if (setrlimit(RLIMIT_NOFILE, &lim) != 0) {
    out.error = std::strerror(errno);
    return out;
  }
  out.after = target;
  return out;
}

}  // namespace sluice
