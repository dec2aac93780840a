#pragma once
// Aligned text tables and key/value blocks for the CLI's human output.
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace sluice::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  // Missing cells are printed empty; extra cells are ignored.
  void add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  // Columns separated by two spaces; the last column is not padded.
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// "key:   value" lines with the values aligned.
class KeyValues {
 public:
  void add(std::string key, std::string value) {
    items_.emplace_back(std::move(key), std::move(value));
  }
  void print(std::ostream& out) const;

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

}  // namespace sluice::cli
