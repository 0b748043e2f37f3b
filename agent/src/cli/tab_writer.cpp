// Go's text/tabwriter (format and writeLines in tabwriter.go), without the
// features kubectl does not use (escapes, HTML filtering, right alignment,
// tab padding).
#include "cli/tab_writer.hpp"

#include <algorithm>
#include <vector>

namespace deckhand::cli {
namespace {

struct Cell {
  std::string_view text;
  std::size_t width = 0;
};
using Line = std::vector<Cell>;

std::size_t display_width(std::string_view text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

class Formatter {
 public:
  Formatter(const std::vector<Line>& lines, TabWriterSettings settings, std::string& out)
      : lines_(lines), settings_(settings), out_(out) {}

  // tabwriter.go format: the column at depth widths_.size() is aligned over
  // each block of lines that have a tab-terminated cell in it (every cell
  // but a line's last), recursively for the columns to its right.
  void format(std::size_t line0, std::size_t line1) {
    const std::size_t column = widths_.size();
    for (std::size_t i = line0; i < line1; ++i) {
      if (column + 1 >= lines_[i].size()) continue;
      write_lines(line0, i);
      line0 = i;
      std::size_t width = settings_.min_width;
      for (; i < line1 && column + 1 < lines_[i].size(); ++i) {
        width = std::max(width, lines_[i][column].width + settings_.padding);
      }
      widths_.push_back(width);
      format(line0, i);
      widths_.pop_back();
      line0 = i;
      if (i == line1) break;
    }
    write_lines(line0, line1);
  }

 private:
  void write_lines(std::size_t line0, std::size_t line1) {
    for (std::size_t i = line0; i < line1; ++i) {
      const Line& line = lines_[i];
      for (std::size_t j = 0; j < line.size(); ++j) {
        out_ += line[j].text;
        if (j < widths_.size()) out_.append(widths_[j] - line[j].width, ' ');
      }
      out_ += '\n';
    }
  }

  const std::vector<Line>& lines_;
  TabWriterSettings settings_;
  std::string& out_;
  std::vector<std::size_t> widths_;
};

void flush(std::vector<Line>& lines, TabWriterSettings settings, std::string& out) {
  Formatter(lines, settings, out).format(0, lines.size());
  lines.clear();
}

}  // namespace

std::string tabwrite(std::string_view input, TabWriterSettings settings) {
  // An unterminated last line is taken as a whole line.
  std::string owned;
  std::string_view text = input;
  if (!text.empty() && text.back() != '\n') {
    owned = std::string(input) + "\n";
    text = owned;
  }
  std::string out;
  std::vector<Line> lines;
  Line line;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\t' && text[i] != '\n') continue;
    const std::string_view cell = text.substr(start, i - start);
    line.push_back({cell, display_width(cell)});
    start = i + 1;
    if (text[i] == '\t') continue;
    const bool single_cell = line.size() == 1;
    lines.push_back(std::move(line));
    line.clear();
    // A line of one cell cannot affect the lines after it: Go flushes here.
    if (single_cell) flush(lines, settings, out);
  }
  flush(lines, settings, out);
  return out;
}

}  // namespace deckhand::cli
