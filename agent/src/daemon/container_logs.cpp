// CRI log files read back as `kubectl logs` prints them; see container_logs.hpp.
#include "daemon/container_logs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <vector>

#include "pods/pod_status.hpp"

namespace deckhand {
namespace {

constexpr std::streamoff kMaxRead = 64 << 20;
// What one follower read() takes at most, so a fast writer cannot make one
// answer unbounded: the rest comes with the next read.
constexpr std::size_t kMaxFollowChunk = 4 << 20;

struct Line {
  std::string time;  // as written (RFC 3339 with nanoseconds)
  std::string text;  // the whole line, partial pieces joined, with its newline
};

// CRI lines joined into the container's lines: a P piece continues in the
// next piece of the same stream. `pending` and `pending_time` carry the
// unfinished pieces of stdout [0] and stderr [1] across calls.
std::vector<Line> join(const std::string& text, std::string (&pending)[2], std::string (&pending_time)[2]) {
  std::vector<Line> lines;
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
  return lines;
}

std::vector<Line> parse(const std::string& text) {
  std::string pending[2];
  std::string pending_time[2];
  std::vector<Line> lines = join(text, pending, pending_time);
  for (int s = 0; s < 2; ++s) {
    if (!pending[s].empty()) lines.push_back(Line{pending_time[s], pending[s]});
  }
  return lines;
}

std::vector<Line> select(std::vector<Line> lines, const LogOptions& options) {
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
  if (options.tail_lines && *options.tail_lines >= 0 && static_cast<std::size_t>(*options.tail_lines) < lines.size()) {
    lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(*options.tail_lines));
  }
  return lines;
}

std::string render(const std::vector<Line>& lines, bool timestamps) {
  std::string out;
  for (const Line& line : lines) {
    if (timestamps) out += line.time + " ";
    out += line.text;
  }
  return out;
}

}  // namespace

std::string render_container_log(const std::string& text, const LogOptions& options) {
  return render(select(parse(text), options), options.timestamps);
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

ContainerLogFollower::ContainerLogFollower(std::string path, LogOptions options)
    : path_(std::move(path)), options_(std::move(options)) {}

ContainerLogFollower::~ContainerLogFollower() {
  if (fd_ >= 0) ::close(fd_);
}

bool ContainerLogFollower::open_file() {
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) return false;  // not written yet: the runtime creates it with the first line
  struct stat info {};
  ::fstat(fd_, &info);
  inode_ = info.st_ino;
  if (first_ && info.st_size > kMaxRead) {
    ::lseek(fd_, info.st_size - kMaxRead, SEEK_SET);
    cut_first_line_ = true;
  }
  return true;
}

void ContainerLogFollower::read_to_end() {
  char buffer[64 * 1024];
  for (int files = 0; files < 2; ++files) {
    if (fd_ < 0 && !open_file()) return;
    while (unread_.size() < kMaxFollowChunk) {
      const ssize_t got = ::read(fd_, buffer, sizeof buffer);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      unread_.append(buffer, static_cast<std::size_t>(got));
    }
    if (unread_.size() >= kMaxFollowChunk) return;
    // At the end of the open file: if the runtime rotated it, the path is a
    // new file now; everything of the old one has been read.
    struct stat info {};
    if (::stat(path_.c_str(), &info) != 0 || info.st_ino == inode_) return;
    ::close(fd_);
    fd_ = -1;
  }
}

std::string ContainerLogFollower::read() {
  read_to_end();
  const auto newline = unread_.rfind('\n');
  std::string complete;
  if (newline != std::string::npos) {
    complete = unread_.substr(0, newline + 1);
    unread_.erase(0, newline + 1);
  }
  if (cut_first_line_ && !complete.empty()) {
    complete.erase(0, complete.find('\n') + 1);
    cut_first_line_ = false;
  }
  std::vector<Line> lines = join(complete, pending_, pending_time_);
  if (first_) {
    first_ = false;
    lines = select(std::move(lines), options_);
  }
  return render(lines, options_.timestamps);
}

}  // namespace deckhand
