#pragma once
// What the load generators (rtmp_readers, rtsp_readers) report with: clocks in seconds and ms, CPU time of
// processes from /proc, percentiles, and a one-line JSON object builder.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace sluice::bench::report {

inline double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}
inline double ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// CPU seconds (utime + stime) of a process, all threads; -1 when it cannot be read.
inline double process_cpu_seconds(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto close = s.rfind(')');
  if (close == std::string::npos || close + 2 > s.size()) return -1;
  std::istringstream rest(s.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The sum over `pids`; -1 when any cannot be read (or none are given).
inline double cpu_seconds(const std::vector<int>& pids) {
  if (pids.empty()) return -1;
  double sum = 0;
  for (int p : pids) {
    double c = process_cpu_seconds(p);
    if (c < 0) return -1;
    sum += c;
  }
  return sum;
}

inline double self_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct Percentiles {
  std::size_t samples = 0;
  double p50 = 0, p99 = 0, max = 0;
};
// Nearest-rank percentiles.
inline Percentiles percentiles(std::vector<double> v) {
  Percentiles p;
  p.samples = v.size();
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto rank = [&](double q) {
    auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
    return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
  };
  p.p50 = rank(0.50);
  p.p99 = rank(0.99);
  p.max = v.back();
  return p;
}

inline std::string num(double v, const char* f = "%.3f") {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
inline std::string json_pct(const Percentiles& p) {
  char b[160];
  std::snprintf(b, sizeof b, "{\"samples\":%zu,\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f}", p.samples,
                p.p50, p.p99, p.max);
  return b;
}
// A JSON string; control characters become spaces.
inline std::string json_str(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    o += c;
  }
  return o + "\"";
}

// {"k":v,...}: values are added already encoded.
class Json {
 public:
  void add(const std::string& key, const std::string& value) {
    text_ += (text_.size() > 1 ? "," : "") + json_str(key) + ":" + value;
  }
  std::string close() const { return text_ + "}"; }

 private:
  std::string text_ = "{";
};

}  // namespace sluice::bench::report
