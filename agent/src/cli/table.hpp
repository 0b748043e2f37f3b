// Prints rows in aligned columns, the way kubectl's tables look: upper-case
// headers, columns separated by at least three spaces, no borders.
#pragma once

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

namespace deckhand::cli {

inline void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 3, ' ');
    }
    out << line << "\n";
  }
}

}  // namespace deckhand::cli
