// CRI log files read back as `kubectl logs` prints them; see container_logs.hpp.
#include "daemon/container_logs.hpp"

#include <deque>
#include <fstream>
#include <sstream>
#include <vector>

#include "pods/pod_status.hpp"

namespace deckhand {
namespace {

constexpr std::streamoff kMaxRead = 64 << 20;

struct Line {
  std::string time;  // as written (RFC 3339 with nanoseconds)
  std::string text;  // the whole line, partial pieces joined, with its newline
};

// The CRI lines joined into the container's lines: a P piece continues in
// the next piece of the same stream.
std::vector<Line> parse(const std::string& text) {
  std::vector<Line> lines;
  std::string pending[2];
  std::string pending_time[2];
  std::istringstream in(text);
  std::string raw;
  while (std::getline(in, raw)) {
    const auto first = raw.find(' ');
    if (first == std::string::npos) continue;
    const auto second = raw.find(' ', first + 1);
    if (second == std::string::npos) continue;
    const auto third = raw.find(' ', second + 1);
    const std::string stream = raw.substr(first + 1, second - first - 1);
    const std::string tag = raw.substr(second + 1, third == std::string::npos ? std::string::npos : third - second - 1);
    const std::string content = third == std::string::npos ? "" : raw.substr(third + 1);
    const int s = stream == "stderr" ? 1 : 0;
    if (pending[s].empty()) pending_time[s] = raw.substr(0, first);
    pending[s] += content;
    if (tag.rfind('P', 0) == 0) continue;  // partial: the line goes on
    lines.push_back(Line{pending_time[s], pending[s] + "\n"});
    pending[s].clear();
  }
  for (int s = 0; s < 2; ++s) {
    if (!pending[s].empty()) lines.push_back(Line{pending_time[s], pending[s]});
  }
  return lines;
}

}  // namespace

std::string render_container_log(const std::string& text, const LogOptions& options) {
  std::vector<Line> lines = parse(text);
  if (options.since) {
    std::vector<Line> kept;
    for (Line& line : lines) {
      try {
        if (pods::parse_time(line.time) < *options.since) continue;
      } catch (const std::exception&) {
      }
      kept.push_back(std::move(line));
    }
    lines = std::move(kept);
  }
  std::size_t from = 0;
  if (options.tail_lines && *options.tail_lines >= 0 && static_cast<std::size_t>(*options.tail_lines) < lines.size()) {
    from = lines.size() - static_cast<std::size_t>(*options.tail_lines);
  }
  std::string out;
  for (std::size_t i = from; i < lines.size(); ++i) {
    if (options.timestamps) out += lines[i].time + " ";
    out += lines[i].text;
  }
  return out;
}

std::string read_container_log(const std::string& path, const LogOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff start = size > kMaxRead ? size - kMaxRead : 0;
  in.seekg(start);
  std::string text(static_cast<std::size_t>(size - start), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (start > 0) {
    const auto newline = text.find('\n');
    text.erase(0, newline == std::string::npos ? text.size() : newline + 1);  // a cut first line
  }
  return render_container_log(text, options);
}

}  // namespace deckhand
