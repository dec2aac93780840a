#include "table.hpp"

#include <algorithm>

namespace sluice::cli {
namespace {

// Display width in code points, so UTF-8 names do not break the alignment.
std::size_t display_width(const std::string& s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

}  // namespace

void Table::print(std::ostream& out) const {
  std::vector<std::size_t> widths(headers_.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < widths.size() && i < row.size(); ++i) {
      widths[i] = std::max(widths[i], display_width(row[i]));
    }
  };
  measure(headers_);
  for (const auto& row : rows_)
    measure(row);

  auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      line += cell;
      if (i + 1 < widths.size()) line.append(widths[i] - display_width(cell) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out << line << '\n';
  };
  print_row(headers_);
  for (const auto& row : rows_)
    print_row(row);
}

void KeyValues::print(std::ostream& out) const {
  std::size_t width = 0;
  for (const auto& [k, v] : items_)
    width = std::max(width, display_width(k));
  for (const auto& [k, v] : items_) {
    out << k << ':' << std::string(width - display_width(k) + 1, ' ') << v << '\n';
  }
}

}  // namespace sluice::cli
