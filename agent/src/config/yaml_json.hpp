// Converts a YAML subtree (a plugin's config section) into JSON, the format
// that crosses the plugin boundary.
#pragma once

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

namespace deckhand {

// Plain scalars become booleans, integers, numbers or null where YAML 1.2's
// core schema says so; quoted scalars always stay strings.
nlohmann::json yaml_to_json(const YAML::Node& node);

}  // namespace deckhand
