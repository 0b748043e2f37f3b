// The exec stream's framing (http/stream_frames.hpp): the bytes on the wire,
// reassembly from any split, and the refusal of oversized frames.
#include "http/stream_frames.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

namespace deckhand::http {
namespace {

TEST(StreamFrames, EncodesChannelBigEndianLengthAndPayload) {
  const std::string bytes = encode_frame(channel::kStderr, "hi");
  EXPECT_EQ(bytes, std::string("\x02\x00\x00\x00\x02hi", 7));
  const std::string big = encode_frame(channel::kStdout, std::string(0x010203, 'x'));
  EXPECT_EQ(big.substr(0, 5), std::string("\x01\x00\x01\x02\x03", 5));
  EXPECT_EQ(big.size(), 5u + 0x010203);
}

TEST(StreamFrames, EmptyPayloadIsAFrame) {
  FrameDecoder decoder;
  decoder.feed(encode_frame(channel::kStdin, ""));
  const auto frame = decoder.next();
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->channel, channel::kStdin);
  EXPECT_EQ(frame->payload, "");
  EXPECT_FALSE(decoder.next().has_value());
}

TEST(StreamFrames, ReassemblesFramesSplitAnywhere) {
  const std::string wire = encode_frame(channel::kStdout, "first") + encode_frame(channel::kResize, R"({"Width":80,"Height":24})") +
                           encode_frame(channel::kError, R"({"status":"Success"})");
  for (std::size_t step = 1; step <= wire.size(); ++step) {
    FrameDecoder decoder;
    std::vector<Frame> frames;
    for (std::size_t at = 0; at < wire.size(); at += step) {
      decoder.feed(std::string_view(wire).substr(at, step));
      while (auto frame = decoder.next()) frames.push_back(*frame);
    }
    ASSERT_EQ(frames.size(), 3u) << "step " << step;
    EXPECT_EQ(frames[0].channel, channel::kStdout);
    EXPECT_EQ(frames[0].payload, "first");
    EXPECT_EQ(frames[1].channel, channel::kResize);
    EXPECT_EQ(frames[1].payload, R"({"Width":80,"Height":24})");
    EXPECT_EQ(frames[2].channel, channel::kError);
    EXPECT_EQ(decoder.pending(), 0u);
  }
}

TEST(StreamFrames, WaitsForAWholeFrame) {
  FrameDecoder decoder;
  const std::string wire = encode_frame(channel::kStdout, "abcdef");
  decoder.feed(wire.substr(0, 7));
  EXPECT_FALSE(decoder.next().has_value());
  EXPECT_EQ(decoder.pending(), 7u);
  decoder.feed(wire.substr(7));
  EXPECT_EQ(decoder.next()->payload, "abcdef");
}

TEST(StreamFrames, RefusesOversizedFrames) {
  FrameDecoder decoder;
  decoder.feed(std::string("\x01\x7f\xff\xff\xff", 5));  // 2 GiB announced
  EXPECT_THROW(decoder.next(), FrameError);
  EXPECT_THROW(encode_frame(channel::kStdout, std::string(kMaxFramePayload + 1, 'x')), FrameError);
}

TEST(StreamFrames, SendFrameWritesTheEncodingAndReportsAGonePeer) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  ASSERT_TRUE(send_frame(pair[0], channel::kStdout, "data"));
  char buffer[64];
  const ssize_t n = ::read(pair[1], buffer, sizeof buffer);
  EXPECT_EQ(std::string(buffer, static_cast<std::size_t>(std::max<ssize_t>(n, 0))), encode_frame(channel::kStdout, "data"));
  ::close(pair[1]);
  EXPECT_FALSE(send_frame(pair[0], channel::kStdout, "gone"));  // EPIPE, without SIGPIPE
  ::close(pair[0]);
}

}  // namespace
}  // namespace deckhand::http
