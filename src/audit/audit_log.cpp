#include "audit/audit_log.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <filesystem>

#include "core/json_text.hpp"
#include "core/time_format.hpp"

namespace sluice::audit {
namespace json = boost::json;

AuditLog::AuditLog(std::string path, std::function<void(const std::string&)> publish,
                   std::uint64_t max_bytes)
    : path_(std::move(path)), publish_(std::move(publish)), max_bytes_(max_bytes) {
  std::lock_guard lock(mutex_);
  open_locked();
}

AuditLog::~AuditLog() {
  if (file_) std::fclose(file_);
}

void AuditLog::open_locked() {
  if (path_.empty()) return;
  std::error_code ec;
  auto dir = std::filesystem::path(path_).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  file_ = std::fopen(path_.c_str(), "a");
  if (!file_) {
    spdlog::warn("audit: cannot open {}: the audit trail goes to the hub only", path_);
    return;
  }
  ::chmod(path_.c_str(), 0600);
  size_ = std::filesystem::file_size(path_, ec);
  if (ec) size_ = 0;
}

void AuditLog::rotate_locked() {
  std::fclose(file_);
  file_ = nullptr;
  std::error_code ec;
  std::filesystem::rename(path_, path_ + ".1", ec);
  open_locked();
}

std::string AuditLog::to_json(const Entry& e, std::chrono::system_clock::time_point now) {
  json::object o{{"time", format_timestamp(now)},
                 {"who", e.who},
                 {"address", e.address},
                 {"door", e.door},
                 {"action", e.action},
                 {"status", e.status},
                 {"result", e.status < 400 ? "ok" : "refused"}};
  if (!e.target.empty()) o["target"] = e.target;
  if (!e.detail.empty()) o["detail"] = e.detail;
  return to_json_text(o);
}

void AuditLog::record(const Entry& e) {
  std::string line = to_json(e, std::chrono::system_clock::now());
  if (publish_) publish_(line);
  std::lock_guard lock(mutex_);
  if (!file_) return;
  if (size_ + line.size() + 1 > max_bytes_) rotate_locked();
  if (!file_) return;
  line += '\n';
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
    failures_.fetch_add(1);
    auto now = std::chrono::steady_clock::now();
    if (now - last_warning_ > std::chrono::minutes(1)) {
      last_warning_ = now;
      spdlog::warn("audit: write to {} failed ({} failures so far)", path_, failures_.load());
    }
    return;
  }
  size_ += line.size();
  written_.fetch_add(1);
}

}  // namespace sluice::audit
