#pragma once
// The audit trail (issue 12, item 8): every mutating call and every refusal — who, what, from
// where, with what result — as one JSON line in <data-dir>/audit.log and on the hub subject
// `sluice.audit` (readable with users_rw). Entries never carry secrets: callers pass paths
// without query strings and never bodies. The file is rotated at `max_bytes` (one old file kept,
// audit.log.1), so the trail is bounded on disk. Thread-safe; a write failure is counted and
// logged at most once a minute, never thrown.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>

namespace sluice::audit {

struct Entry {
  std::string who;      // auth::Identity::owner(), e.g. "user:ana", "addr:10.0.0.7"
  std::string address;  // the peer
  std::string door;     // "http", "ws", "wire", "rtmp", …
  std::string action;   // "DELETE /streams/{id}", "pub maestra.stream.advertise", …
  std::string target;   // the resource, when there is one
  int status = 200;     // the answer (HTTP status semantics)
  std::string detail;   // why a refusal was refused (already secret-free)
};

class AuditLog {
 public:
  // `path` empty: the file is off (the hub still gets entries). `publish` may be empty.
  AuditLog(std::string path, std::function<void(const std::string& json)> publish,
           std::uint64_t max_bytes = 64ull << 20);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  void record(const Entry& e);

  std::uint64_t written() const { return written_.load(); }
  std::uint64_t failures() const { return failures_.load(); }

  // The JSON line of an entry (with a timestamp), without the newline.
  static std::string to_json(const Entry& e, std::chrono::system_clock::time_point now);

 private:
  void open_locked();
  void rotate_locked();

  std::string path_;
  std::function<void(const std::string&)> publish_;
  std::uint64_t max_bytes_;
  std::mutex mutex_;
  std::FILE* file_ = nullptr;
  std::uint64_t size_ = 0;
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::chrono::steady_clock::time_point last_warning_{};
};

}  // namespace sluice::audit
