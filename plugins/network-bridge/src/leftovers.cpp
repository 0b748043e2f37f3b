// Gone pods by their netns pins; see leftovers.hpp.
#include "leftovers.hpp"

#include <unistd.h>

namespace deckhand::network {

std::set<std::string> gone_pods(const std::set<std::string>& known, const std::string& netns_dir) {
  std::set<std::string> out;
  for (const std::string& pod : known) {
    if (pod.empty() || pod.find('/') != std::string::npos || pod == "." || pod == ".." ||
        ::access((netns_dir + "/" + pod).c_str(), F_OK) != 0) {
      out.insert(pod);
    }
  }
  return out;
}

}  // namespace deckhand::network
