// The manifests of `deckhand apply -f` and `deckhand delete -f`: each -f is
// a file, a directory (its *.yaml, *.yml and *.json files in name order, not
// recursive, as kubectl reads one) or "-" for standard input.
#pragma once

#include <istream>
#include <stdexcept>
#include <string>
#include <vector>

namespace deckhand::cli {

struct ManifestInput {
  std::string source;  // the path as given (a directory's files as DIR/NAME), or "STDIN"
  std::string text;
};

// Throws std::runtime_error naming the path: kubectl's
// `the path "x.yaml" does not exist`, or why a file could not be read.
std::vector<ManifestInput> read_manifest_inputs(const std::vector<std::string>& paths, std::istream& standard_input);

}  // namespace deckhand::cli
