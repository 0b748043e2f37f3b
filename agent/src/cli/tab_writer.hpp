// Go's text/tabwriter, the aligner behind kubectl's tables and describe
// output: cells end at '\t', lines at '\n'; a column is aligned over each
// block of consecutive lines that have a cell in it, and a line without any
// tab ends every block (the writer flushes there). Reproducing the algorithm,
// rather than padding columns over the whole text, is what makes a describe
// section line up exactly as kubectl's does.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace deckhand::cli {

struct TabWriterSettings {
  std::size_t min_width = 0;  // a cell's minimal width, padding included
  std::size_t padding = 1;    // spaces added to the widest cell of a column
};

// kubectl get's table writer (printers.GetNewTabWriter: minwidth 6, padding 3).
inline constexpr TabWriterSettings kTableWriter{6, 3};
// kubectl describe's writer (describe.tabbedString: minwidth 0, padding 2).
inline constexpr TabWriterSettings kDescribeWriter{0, 2};

// `text` aligned as a tabwriter.Writer with `settings`, padding with spaces
// and no flags, would write it. Widths count UTF-8 code points; a last line
// without a newline gets one.
std::string tabwrite(std::string_view text, TabWriterSettings settings);

}  // namespace deckhand::cli
