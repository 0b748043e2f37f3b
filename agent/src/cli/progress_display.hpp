// A pull's progress as docker draws it: one line per layer, redrawn in
// place on a terminal ("3f4a5b6c7d8e: Downloading  12.3MB/45.6MB"), or one
// line per finished layer when the output is a file or a pipe.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

namespace deckhand::cli {

// 999B, 12.3kB, 45.6MB, 1.2GB: SI units, as docker prints sizes.
std::string format_bytes(uint64_t bytes);

class ProgressDisplay {
 public:
  ProgressDisplay(std::ostream& out, bool terminal) : out_(out), terminal_(terminal) {}

  // One progress document of the storage plugin:
  // {layer, index, phase: waiting|downloading|unpacked|present, done, total}.
  void update(const nlohmann::json& progress);

 private:
  struct Layer {
    std::string id;     // the blob digest's first 12 hex digits
    std::string phase;
    uint64_t done = 0;
    uint64_t total = 0;
  };
  std::string line(const Layer& layer) const;
  void redraw();

  std::ostream& out_;
  bool terminal_;
  std::map<uint64_t, Layer> layers_;  // by index, bottom first
  std::size_t drawn_ = 0;             // lines drawn last time (terminal)
};

}  // namespace deckhand::cli
