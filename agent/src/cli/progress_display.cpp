#include "cli/progress_display.hpp"

#include <cstdio>

namespace deckhand::cli {

std::string format_bytes(uint64_t bytes) {
  static const char* const units[] = {"B", "kB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1000.0 && unit + 1 < sizeof(units) / sizeof(units[0])) {
    value /= 1000.0;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f%s" : "%.1f%s", value, units[unit]);
  return text;
}

std::string ProgressDisplay::line(const Layer& layer) const {
  if (layer.phase == "downloading") {
    return layer.id + ": Downloading  " + format_bytes(layer.done) + "/" + format_bytes(layer.total);
  }
  if (layer.phase == "unpacked") return layer.id + ": Pull complete";
  if (layer.phase == "present") return layer.id + ": Already exists";
  return layer.id + ": Waiting";
}

void ProgressDisplay::update(const nlohmann::json& progress) {
  if (!progress.is_object()) return;
  const uint64_t index = progress.value("index", uint64_t{0});
  Layer& layer = layers_[index];
  const std::string digest = progress.value("layer", std::string());
  const auto colon = digest.find(':');
  layer.id = digest.substr(colon == std::string::npos ? 0 : colon + 1, 12);
  const std::string phase = progress.value("phase", std::string());
  const bool changed = phase != layer.phase;
  layer.phase = phase;
  layer.done = progress.value("done", uint64_t{0});
  layer.total = progress.value("total", uint64_t{0});
  if (terminal_) {
    redraw();
  } else if (changed && (phase == "unpacked" || phase == "present")) {
    out_ << line(layer) << "\n" << std::flush;
  }
}

void ProgressDisplay::redraw() {
  // Up to the first layer line, then every line again, each cleared first.
  if (drawn_ > 0) out_ << "\x1b[" << drawn_ << "A";
  for (const auto& [index, layer] : layers_) out_ << "\r\x1b[2K" << line(layer) << "\n";
  drawn_ = layers_.size();
  out_ << std::flush;
}

}  // namespace deckhand::cli
