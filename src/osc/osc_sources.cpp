#include "osc/osc_sources.hpp"

namespace sluice::osc {

bool RateWindow::take(MonoTime now) {
  if (!start_ || now - *start_ >= std::chrono::seconds(1) || now < *start_) {
    start_ = now;
    used_ = 0;
  }
  if (used_ >= limit_) return false;
  ++used_;
  return true;
}

SourceTable::SourceTable(SourceLimits limits)
    : limits_(limits), untracked_(limits.datagrams_per_second) {}

bool SourceTable::admit(std::string_view sender, MonoTime now) {
  auto it = sources_.find(std::string(sender));
  return it == sources_.end() ? untracked_.take(now) : it->second.window.take(now);
}

std::optional<OscSource> SourceTable::record(std::string_view sender, std::size_t bytes,
                                             MonoTime now) {
  auto it = sources_.find(std::string(sender));
  if (it != sources_.end()) {
    OscSource& s = it->second.source;
    s.last_seen = now;
    ++s.datagrams;
    s.bytes += bytes;
    return std::nullopt;
  }
  if (sources_.size() >= limits_.max_sources) return std::nullopt;
  OscSource s{std::string(sender), now, now, 1, bytes};
  sources_.emplace(s.sender, Entry{s, RateWindow(limits_.datagrams_per_second)});
  return s;
}

std::vector<OscSource> SourceTable::expire(MonoTime now) {
  std::vector<OscSource> gone;
  for (auto it = sources_.begin(); it != sources_.end();) {
    if (now - it->second.source.last_seen >= limits_.expiry) {
      gone.push_back(std::move(it->second.source));
      it = sources_.erase(it);
    } else {
      ++it;
    }
  }
  return gone;
}

std::vector<OscSource> SourceTable::clear() {
  std::vector<OscSource> all = snapshot();
  sources_.clear();
  return all;
}

bool SourceTable::tracks(std::string_view sender) const {
  return sources_.contains(std::string(sender));
}

std::vector<OscSource> SourceTable::snapshot() const {
  std::vector<OscSource> all;
  all.reserve(sources_.size());
  for (const auto& [key, entry] : sources_)
    all.push_back(entry.source);
  return all;
}

}  // namespace sluice::osc
