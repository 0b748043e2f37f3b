// Container output in the CRI log format that the kubelet, `kubectl logs`
// and every log shipper read:
//   2016-10-06T00:17:09.669794202Z stdout F a whole line
//   2016-10-06T00:17:09.669794202Z stderr P the first 16 KiB of a longer line
// with size-based rotation: <path> is the live file, <path>.1 the previous, ...
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace deckhand::runtime {

class CriLogWriter {
 public:
  // max_bytes: rotate before a write would pass it; max_files: files kept, the live one included.
  CriLogWriter(std::string path, uint64_t max_bytes, unsigned max_files);
  ~CriLogWriter();
  CriLogWriter(const CriLogWriter&) = delete;
  CriLogWriter& operator=(const CriLogWriter&) = delete;

  // Adds output of one stream ("stdout" or "stderr"); whole lines are written
  // at once, a line longer than 16 KiB in parts tagged P.
  void append(const std::string& stream, std::string_view data);
  // Writes what is left of a stream's last line (at end of output).
  void flush(const std::string& stream);

 private:
  void write_line(const std::string& stream, char tag, std::string_view text);
  void rotate();
  std::string& buffer_for(const std::string& stream);

  std::string path_;
  uint64_t max_bytes_;
  unsigned max_files_;
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string stdout_buffer_, stderr_buffer_;
};

}  // namespace deckhand::runtime
