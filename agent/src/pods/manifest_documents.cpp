// manifest_documents: YAML or JSON text to JSON documents, bounded. Each
// bound is there for a reason hostile input found:
//   - a few lines of nested YAML aliases stand for billions of nodes, and an
//     alias inside its own anchor for infinitely many: yaml_to_json expands
//     them, so aliases may expand a text to no more nodes than it has bytes;
//   - yaml-cpp 0.7 loops forever, allocating, on a top-level flow collection
//     followed by a comma ("[],"): each turn yields another empty document at
//     the same place, so a first pass counts documents and stops at one that
//     starts where the last did;
//   - a number-like plain scalar of more than 1024 characters is refused: no
//     pod field needs one (yaml_to_json once matched them with std::regex,
//     which overflowed the stack at 30000 digits; it scans them in one pass
//     now, and the limit stays as a plain sanity bound).
#include "pods/manifest_documents.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <optional>
#include <set>
#include <sstream>
#include <string>

#include "config/yaml_json.hpp"
#include "pods/pod_parse.hpp"
#include "pods/pod_strings.hpp"

namespace deckhand::pods {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxBytes = std::size_t{4} << 20;
constexpr std::size_t kMaxDocuments = 1000;
constexpr int kMaxDepth = 64;
// Without aliases a document has fewer nodes than bytes; with them, it may
// have no more than that either, or this many for a small document (a few
// anchors shared by several containers).
constexpr std::size_t kMinNodeBudget = 65536;
// A pod has no reason for a number-like plain scalar of even this length.
constexpr std::size_t kMaxNumberLikeScalar = 1024;

std::string at_mark(const YAML::Mark& mark) {
  return "line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1) + ": ";
}

// The documents yaml-cpp will find in the text, counted from its parser's
// events before YAML::LoadAll builds them: at most kMaxDocuments, and none
// starting where the previous one did (yaml-cpp's endless loop).
class DocumentCounter : public YAML::EventHandler {
 public:
  explicit DocumentCounter(std::string_view text) : text_(text) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (documents_ > 0 && mark.pos == last_start_) {
      const char at = mark.pos >= 0 && static_cast<std::size_t>(mark.pos) < text_.size() ? text_[mark.pos] : ' ';
      throw ManifestError(at_mark(mark) + "unexpected " + quote(std::string_view(&at, 1)));
    }
    if (++documents_ > kMaxDocuments) {
      throw ManifestError("more than " + std::to_string(kMaxDocuments) + " documents; a manifest may hold at most " +
                          std::to_string(kMaxDocuments));
    }
    last_start_ = mark.pos;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  std::string_view text_;
  std::size_t documents_ = 0;
  int last_start_ = -1;
};

// Checks a YAML document before yaml_to_json converts it (recursively, with
// every alias expanded): its depth, its node count with aliases expanded,
// its keys (strings, once per mapping, as Kubernetes' strict decoding wants)
// and the length of number-like plain scalars.
class YamlGuard {
 public:
  explicit YamlGuard(std::size_t max_nodes) : max_nodes_(max_nodes) {}

  void check(const YAML::Node& node, int depth) {
    if (++nodes_ > max_nodes_) {
      throw ManifestError(at_mark(node.Mark()) + "more than " + std::to_string(max_nodes_) +
                          " nodes once YAML aliases are expanded");
    }
    if (depth > kMaxDepth) {
      throw ManifestError(at_mark(node.Mark()) + "nested more than " + std::to_string(kMaxDepth) + " levels deep");
    }
    switch (node.Type()) {
      case YAML::NodeType::Map: {
        std::set<std::string> keys;
        for (const auto& item : node) {
          if (!item.first.IsScalar()) {
            throw ManifestError(at_mark(item.first.Mark()) + "a mapping key must be a string");
          }
          if (!keys.insert(item.first.Scalar()).second) {
            throw ManifestError(at_mark(item.first.Mark()) + "duplicate key " + quote(item.first.Scalar()));
          }
          check(item.second, depth + 1);
        }
        break;
      }
      case YAML::NodeType::Sequence:
        for (const auto& item : node) check(item, depth + 1);
        break;
      case YAML::NodeType::Scalar:
        check_scalar(node);
        break;
      default:
        break;
    }
  }

 private:
  static void check_scalar(const YAML::Node& node) {
    const std::string& text = node.Scalar();
    const bool quoted = node.Tag() == "!";  // quoted and block scalars: yaml_to_json keeps them as strings
    if (quoted || text.size() <= kMaxNumberLikeScalar) return;
    if (std::string_view("+-.0123456789").find(text.front()) != std::string_view::npos) {
      throw ManifestError(at_mark(node.Mark()) + "an unquoted number-like value longer than " +
                          std::to_string(kMaxNumberLikeScalar) + " characters (quote it)");
    }
  }

  std::size_t max_nodes_;
  std::size_t nodes_ = 0;
};

std::size_t node_budget(std::string_view text) { return std::max(text.size(), kMinNodeBudget); }

std::vector<json> yaml_documents(std::string_view text) {
  std::vector<YAML::Node> documents;
  try {
    std::istringstream stream{std::string(text)};
    YAML::Parser parser(stream);
    DocumentCounter counter(text);
    while (parser.HandleNextDocument(counter)) {
    }
    documents = YAML::LoadAll(std::string(text));
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp stops at 2000 levels, with the message "bad file".
    throw ManifestError(at_mark(e.mark) + "nested more than " + std::to_string(kMaxDepth) + " levels deep");
  } catch (const YAML::ParserException& e) {
    throw ManifestError(at_mark(e.mark) + e.msg);
  } catch (const YAML::Exception& e) {
    throw ManifestError(e.what());
  }
  std::vector<json> out;
  YamlGuard guard(node_budget(text));
  for (std::size_t i = 0; i < documents.size(); ++i) {
    try {
      guard.check(documents[i], 0);
    } catch (const ManifestError& e) {
      throw ManifestError("document " + std::to_string(i + 1) + ": " + e.what());
    }
    out.push_back(yaml_to_json(documents[i]));
  }
  return out;
}

// The text as one JSON value, or nullopt when it is not JSON (it is then
// read as YAML, which also gives the better syntax errors). Duplicate keys
// are refused (YAML's are too), and the same depth and size bounds apply.
std::optional<json> json_document(std::string_view text) {
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || (text[first] != '{' && text[first] != '[')) return std::nullopt;
  std::vector<std::set<std::string>> open_objects;
  std::size_t nodes = 0;
  std::string problem;
  const json::parser_callback_t check = [&](int depth, json::parse_event_t event, json& parsed) {
    if (problem.empty() && depth > kMaxDepth) {
      problem = "nested more than " + std::to_string(kMaxDepth) + " levels deep";
    }
    if (problem.empty() && ++nodes > node_budget(text)) {
      problem = "more than " + std::to_string(node_budget(text)) + " nodes";
    }
    switch (event) {
      case json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() && !open_objects.back().insert(parsed.get<std::string>()).second &&
            problem.empty()) {
          problem = "duplicate key " + quote(parsed.get<std::string>());
        }
        break;
      default:
        break;
    }
    return true;
  };
  json value = json::parse(text.begin(), text.end(), check, /*allow_exceptions=*/false);
  if (value.is_discarded()) return std::nullopt;
  if (!problem.empty()) throw ManifestError("document 1: " + problem);
  return value;
}

}  // namespace

std::vector<json> manifest_documents(std::string_view text) {
  if (text.size() > kMaxBytes) {
    throw ManifestError(std::to_string(text.size()) + " bytes; a manifest may be at most 4 MiB");
  }
  if (std::optional<json> document = json_document(text)) return {std::move(*document)};
  return yaml_documents(text);
}

}  // namespace deckhand::pods
