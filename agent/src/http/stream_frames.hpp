// The framing of the exec stream (Upgrade: deckhand-exec.v1) on the local
// API, shared by the agent and the CLI: after the 101 answer both sides send
// frames of 1 byte channel, 4 bytes big-endian payload length, payload. The
// channels are Kubernetes' remotecommand ones: 0 stdin (client to agent; an
// empty payload closes it), 1 stdout, 2 stderr, 3 error (the last frame: a
// JSON metav1.Status), 4 resize (client to agent: {"Width":W,"Height":H}).
#pragma once

#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "http/stream.hpp"

namespace deckhand::http {

inline constexpr const char* kExecProtocol = "deckhand-exec.v1";

namespace channel {
inline constexpr uint8_t kStdin = 0;
inline constexpr uint8_t kStdout = 1;
inline constexpr uint8_t kStderr = 2;
inline constexpr uint8_t kError = 3;
inline constexpr uint8_t kResize = 4;
}  // namespace channel

inline constexpr std::size_t kFrameHeaderBytes = 5;
// Bigger frames are a broken or hostile peer, not data: nothing legitimate
// sends more than one read's worth at a time.
inline constexpr std::size_t kMaxFramePayload = 1u << 20;

struct Frame {
  uint8_t channel = 0;
  std::string payload;
};

struct FrameError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline std::string encode_frame(uint8_t channel, std::string_view payload) {
  if (payload.size() > kMaxFramePayload) throw FrameError("frame payload of " + std::to_string(payload.size()) + " bytes is too large");
  const auto size = static_cast<uint32_t>(payload.size());
  std::string out;
  out.reserve(kFrameHeaderBytes + payload.size());
  out += static_cast<char>(channel);
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((size >> shift) & 0xFF);
  out.append(payload);
  return out;
}

// Reassembles frames from bytes as they arrive, in any split.
class FrameDecoder {
 public:
  void feed(std::string_view bytes) { buffer_.append(bytes); }

  // The next whole frame, or nullopt until more bytes arrive. Throws
  // FrameError for a frame longer than kMaxFramePayload.
  std::optional<Frame> next() {
    if (buffer_.size() < kFrameHeaderBytes) return std::nullopt;
    uint32_t size = 0;
    for (std::size_t i = 1; i < kFrameHeaderBytes; ++i) size = (size << 8) | static_cast<uint8_t>(buffer_[i]);
    if (size > kMaxFramePayload) throw FrameError("frame payload of " + std::to_string(size) + " bytes is too large");
    if (buffer_.size() < kFrameHeaderBytes + size) return std::nullopt;
    Frame frame{static_cast<uint8_t>(buffer_[0]), buffer_.substr(kFrameHeaderBytes, size)};
    buffer_.erase(0, kFrameHeaderBytes + size);
    return frame;
  }

  // Bytes of a frame not yet complete.
  std::size_t pending() const { return buffer_.size(); }

 private:
  std::string buffer_;
};

// Writes one frame to a blocking socket; false when the peer went away.
inline bool send_frame(int fd, uint8_t channel, std::string_view payload) {
  return send_all(fd, encode_frame(channel, payload));
}

}  // namespace deckhand::http
