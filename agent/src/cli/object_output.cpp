// JSON and YAML text as kubectl prints objects.
#include "cli/object_output.hpp"

#include <regex>

namespace deckhand::cli {
namespace {

using nlohmann::json;

// Go's encoding/json escapes <, > and & (and U+2028/U+2029) in strings; in
// JSON text they can only occur inside strings.
std::string html_safe(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xE2' && i + 2 < text.size() && text[i + 1] == '\x80' &&
               (text[i + 2] == '\xA8' || text[i + 2] == '\xA9')) {
      out += text[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

// go-yaml v2 resolve(): a plain scalar that would read back as null, a bool,
// a number or a timestamp is written double-quoted.
bool resolves_to_other_type(const std::string& s) {
  static const std::regex kSpecial(
      "~|null|Null|NULL|y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|"
      "[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)");
  static const std::regex kInt("[-+]?(0b[01_]+|0x[0-9a-fA-F_]+|0o?[0-7_]+|[0-9][0-9_]*)");
  static const std::regex kFloat("[-+]?([0-9][0-9_]*)?\\.?[0-9]*([eE][-+]?[0-9]+)?");
  static const std::regex kBase60("[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\\.[0-9_]*)?");
  static const std::regex kTimestamp(
      "[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(([Tt]|[ \\t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\\.[0-9]*)?"
      "([ \\t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?)?");
  if (s.empty()) return true;
  if (std::regex_match(s, kSpecial) || std::regex_match(s, kInt) || std::regex_match(s, kBase60) ||
      std::regex_match(s, kTimestamp)) {
    return true;
  }
  // A float needs a digit somewhere ("." and "e" alone are strings).
  return std::regex_match(s, kFloat) && s.find_first_of("0123456789") != std::string::npos;
}

bool is_blank_or_end(const std::string& s, std::size_t i) { return i >= s.size() || s[i] == ' ' || s[i] == '\t'; }

// libyaml's yaml_emitter_analyze_scalar, block context: a plain scalar may
// not start with an indicator, hold ": " or " #", or start or end with a
// space; such a string is written single-quoted.
bool plain_allowed(const std::string& s) {
  if (s.front() == ' ' || s.back() == ' ' || s.front() == '\t' || s.back() == '\t') return false;
  if (s.rfind("---", 0) == 0 || s.rfind("...", 0) == 0) return false;
  if (std::string_view("#,[]{}&*!|>'\"%@`").find(s.front()) != std::string_view::npos) return false;
  if ((s.front() == '?' || s.front() == ':' || s.front() == '-') && is_blank_or_end(s, 1)) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ':' && is_blank_or_end(s, i + 1)) return false;
    if (s[i] == '#' && i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t')) return false;
  }
  return true;
}

bool has_control_characters(const std::string& s) {
  for (const char c : s) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\n') || byte == 0x7F) return true;
  }
  return false;
}

std::string double_quoted(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
          char escape[8];
          std::snprintf(escape, sizeof escape, "\\x%02X", static_cast<unsigned char>(c));
          out += escape;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string single_quoted(const std::string& s) {
  std::string out = "'";
  for (const char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// A multi-line string as a literal block whose lines are indented by
// `indent` spaces: "|-" without a final newline, "|" with one, "|+" with more.
std::string literal_block(const std::string& s, std::size_t indent) {
  std::size_t trailing = 0;
  while (trailing < s.size() && s[s.size() - 1 - trailing] == '\n') ++trailing;
  std::string out = trailing == 0 ? "|-" : trailing == 1 ? "|" : "|+";
  const std::string body = s.substr(0, s.size() - trailing);
  std::size_t start = 0;
  while (true) {
    const std::size_t end = body.find('\n', start);
    const std::string line = body.substr(start, end == std::string::npos ? std::string::npos : end - start);
    out += "\n" + (line.empty() ? std::string() : std::string(indent, ' ') + line);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  for (std::size_t i = 1; i < trailing; ++i) out += "\n";
  return out;
}

std::string string_scalar(const std::string& s, std::size_t indent) {
  if (has_control_characters(s)) return double_quoted(s);
  if (s.find('\n') != std::string::npos) {
    // A literal block cannot start with a space without an indentation indicator.
    return s.front() == ' ' ? double_quoted(s) : literal_block(s, indent);
  }
  if (resolves_to_other_type(s)) return double_quoted(s);
  return plain_allowed(s) ? s : single_quoted(s);
}

std::string scalar(const json& value, std::size_t indent) {
  if (value.is_string()) return string_scalar(value.get<std::string>(), indent);
  if (value.is_object()) return "{}";
  if (value.is_array()) return "[]";
  return value.dump();  // null, true/false, numbers
}

bool is_nested(const json& value) { return (value.is_object() || value.is_array()) && !value.empty(); }

void emit_sequence(std::string& out, const json& sequence, std::size_t indent);

void emit_mapping(std::string& out, const json& mapping, std::size_t indent) {
  for (const auto& [key, value] : mapping.items()) {
    out += std::string(indent, ' ') + string_scalar(key, indent + 2) + ":";
    if (value.is_object() && !value.empty()) {
      out += "\n";
      emit_mapping(out, value, indent + 2);
    } else if (value.is_array() && !value.empty()) {
      out += "\n";
      emit_sequence(out, value, indent);  // go-yaml does not indent a sequence under its key
    } else {
      out += " " + scalar(value, indent + 2) + "\n";
    }
  }
}

void emit_sequence(std::string& out, const json& sequence, std::size_t indent) {
  for (const json& item : sequence) {
    if (!is_nested(item)) {
      out += std::string(indent, ' ') + "- " + scalar(item, indent + 2) + "\n";
      continue;
    }
    // The item's first line goes after the dash.
    std::string nested;
    if (item.is_object()) {
      emit_mapping(nested, item, indent + 2);
    } else {
      emit_sequence(nested, item, indent + 2);
    }
    out += std::string(indent, ' ') + "- " + nested.substr(indent + 2);
  }
}

}  // namespace

std::string to_kubectl_json(const json& object) {
  return html_safe(object.dump(4, ' ', false, json::error_handler_t::replace)) + "\n";
}

std::string to_kubectl_yaml(const json& object) {
  std::string out;
  if (object.is_object() && !object.empty()) {
    emit_mapping(out, object, 0);
  } else if (object.is_array() && !object.empty()) {
    emit_sequence(out, object, 0);
  } else {
    out = scalar(object, 2) + "\n";
  }
  return out;
}

json kubectl_list(const json& items) {
  return {{"apiVersion", "v1"}, {"items", items}, {"kind", "List"}, {"metadata", {{"resourceVersion", ""}}}};
}

}  // namespace deckhand::cli
