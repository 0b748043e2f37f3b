// Reading -f arguments (kubectl's FileVisitor: a directory contributes its
// files with the extensions .json, .yaml and .yml, in lexical order).
#include "cli/manifest_input.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace deckhand::cli {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string() + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw std::runtime_error("cannot read " + path.string() + ": " + std::strerror(errno));
  return text.str();
}

bool is_manifest_name(const fs::path& path) {
  const std::string extension = path.extension().string();
  return extension == ".yaml" || extension == ".yml" || extension == ".json";
}

}  // namespace

std::vector<ManifestInput> read_manifest_inputs(const std::vector<std::string>& paths, std::istream& standard_input) {
  std::vector<ManifestInput> inputs;
  for (const std::string& path : paths) {
    if (path == "-") {
      inputs.push_back({"STDIN", std::string(std::istreambuf_iterator<char>(standard_input), {})});
      continue;
    }
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (ec || !fs::exists(status)) throw std::runtime_error("the path \"" + path + "\" does not exist");
    if (!fs::is_directory(status)) {
      inputs.push_back({path, read_file(path)});
      continue;
    }
    std::vector<fs::path> files;
    for (const fs::directory_entry& entry : fs::directory_iterator(path)) {
      if (is_manifest_name(entry.path()) && entry.is_regular_file()) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) inputs.push_back({file.string(), read_file(file)});
  }
  return inputs;
}

}  // namespace deckhand::cli
