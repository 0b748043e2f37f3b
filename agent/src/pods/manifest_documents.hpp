// The documents of a manifest's text, as JSON values: the text is JSON (one
// value) or YAML (any number of documents, converted by yaml_to_json). A
// manifest may come from anywhere, so reading it is bounded: its size, its
// documents, its nesting and the nodes YAML aliases expand it to.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

namespace deckhand::pods {

// Throws ManifestError: "line 3, column 5: <problem>" for YAML syntax, or
// "document 2: <problem>" for a document out of bounds. Empty YAML documents
// are null values.
std::vector<nlohmann::json> manifest_documents(std::string_view text);

}  // namespace deckhand::pods
