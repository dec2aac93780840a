#include "core/time_format.hpp"

#include <charconv>

namespace sluice {

std::string format_timestamp(WallTime t) {
  // Hand-rolled rather than gmtime_r + snprintf: listing 1,000 streams formats 2,000 of these.
  using namespace std::chrono;
  auto us = duration_cast<microseconds>(t.time_since_epoch());
  auto day = floor<days>(us);
  year_month_day ymd{sys_days{day}};
  auto in_day = us - day;
  long long micros = in_day.count();
  long long secs = micros / 1'000'000;
  micros %= 1'000'000;
  char buf[] = "0000-00-00T00:00:00.000000Z";
  auto put = [&buf](int at, long long value, int width) {
    for (int i = at + width - 1; i >= at; --i, value /= 10)
      buf[i] = static_cast<char>('0' + value % 10);
  };
  put(0, static_cast<int>(ymd.year()), 4);
  put(5, static_cast<unsigned>(ymd.month()), 2);
  put(8, static_cast<unsigned>(ymd.day()), 2);
  put(11, secs / 3600, 2);
  put(14, secs / 60 % 60, 2);
  put(17, secs % 60, 2);
  put(20, micros, 6);
  return std::string(buf, 27);
}

namespace {

bool read_int(std::string_view& s, std::size_t digits, int& out) {
  if (s.size() < digits) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + digits, out);
  if (ec != std::errc{} || p != s.data() + digits) return false;
  s.remove_prefix(digits);
  return true;
}

bool expect(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}

}  // namespace

std::optional<WallTime> parse_timestamp(std::string_view s) {
  int year, mon, day, hour = 0, min = 0, sec = 0;
  if (!read_int(s, 4, year) || !expect(s, '-') || !read_int(s, 2, mon) || !expect(s, '-') ||
      !read_int(s, 2, day)) {
    return std::nullopt;
  }
  long micros = 0;
  int offset_minutes = 0;
  if (!s.empty()) {
    if (s.front() != 'T' && s.front() != 't' && s.front() != ' ') return std::nullopt;
    s.remove_prefix(1);
    if (!read_int(s, 2, hour) || !expect(s, ':') || !read_int(s, 2, min)) return std::nullopt;
    if (!s.empty() && s.front() == ':') {
      s.remove_prefix(1);
      if (!read_int(s, 2, sec)) return std::nullopt;
      if (!s.empty() && s.front() == '.') {
        s.remove_prefix(1);
        long scale = 100'000;
        std::size_t n = 0;
        while (!s.empty() && s.front() >= '0' && s.front() <= '9') {
          if (n++ < 6) {
            micros += (s.front() - '0') * scale;
            scale /= 10;
          }
          s.remove_prefix(1);
        }
        if (n == 0) return std::nullopt;
      }
    }
    if (!s.empty()) {
      if (s == "Z" || s == "z") {
        s = {};
      } else if (s.front() == '+' || s.front() == '-') {
        int sign = s.front() == '-' ? -1 : 1;
        s.remove_prefix(1);
        int oh, om = 0;
        if (!read_int(s, 2, oh)) return std::nullopt;
        if (!s.empty() && s.front() == ':') s.remove_prefix(1);
        if (!s.empty() && !read_int(s, 2, om)) return std::nullopt;
        offset_minutes = sign * (oh * 60 + om);
      }
      if (!s.empty()) return std::nullopt;
    }
  }
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) {
    return std::nullopt;
  }
  using namespace std::chrono;
  auto ymd = year_month_day{std::chrono::year{year}, month{static_cast<unsigned>(mon)},
                            std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return std::nullopt;
  auto tp = sys_days{ymd} + hours{hour} + minutes{min} + seconds{sec} + microseconds{micros} -
            minutes{offset_minutes};
  return time_point_cast<system_clock::duration>(tp);
}

double to_unix_seconds(WallTime t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

WallTime from_unix_seconds(double s) {
  return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::duration<double>(s)));
}

}  // namespace sluice
