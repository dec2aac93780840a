#pragma once
// Names the calling thread for top -H, perf and gdb: `name` cut to the 15 bytes Linux keeps.
#include <pthread.h>

#include <string>

namespace sluice {

inline void name_this_thread(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace sluice
