#include "registry_auth.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "base64.hpp"
#include "storage_error.hpp"

namespace deckhand::storage {
namespace {

bool is_token_char(char c) {
  // RFC 7230 tchar
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

class ChallengeParser {
 public:
  explicit ChallengeParser(std::string_view text) : text_(text) {}

  std::vector<AuthChallenge> parse() {
    std::vector<AuthChallenge> out;
    skip_separators();
    while (!at_end()) {
      AuthChallenge challenge;
      challenge.scheme = lowercase(token());
      if (challenge.scheme.empty()) return {};
      skip_spaces();
      // Parameters: name=value pairs separated by commas, until the next scheme.
      while (!at_end()) {
        const std::size_t mark = pos_;
        skip_separators();
        const std::string name = lowercase(token());
        skip_spaces();
        if (name.empty() || at_end() || text_[pos_] != '=') {
          pos_ = mark;  // the next challenge's scheme
          break;
        }
        ++pos_;
        skip_spaces();
        std::string value;
        if (!at_end() && text_[pos_] == '"') {
          if (!quoted(value)) return {};
        } else {
          value = token();
        }
        challenge.params[name] = value;
        skip_spaces();
        if (!at_end() && text_[pos_] != ',') {
          if (!challenge.params.empty()) break;  // "Basic realm=x Bearer ..." is malformed; stop here
        }
      }
      out.push_back(std::move(challenge));
      skip_separators();
    }
    return out;
  }

 private:
  bool at_end() const { return pos_ >= text_.size(); }
  void skip_spaces() {
    while (!at_end() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }
  void skip_separators() {
    while (!at_end() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == ',')) ++pos_;
  }
  std::string token() {
    const std::size_t start = pos_;
    while (!at_end() && is_token_char(text_[pos_])) ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }
  bool quoted(std::string& value) {
    ++pos_;  // the opening quote
    while (!at_end()) {
      const char c = text_[pos_++];
      if (c == '"') return true;
      if (c == '\\') {
        if (at_end()) return false;
        value += text_[pos_++];
      } else {
        value += c;
      }
    }
    return false;  // unterminated
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// "https://index.docker.io/v1/" -> "docker.io"; "http://127.0.0.1:5000/x" -> "127.0.0.1:5000".
std::string auth_key_host(std::string key) {
  if (const auto scheme = key.find("://"); scheme != std::string::npos) key = key.substr(scheme + 3);
  if (const auto slash = key.find('/'); slash != std::string::npos) key = key.substr(0, slash);
  key = lowercase(key);
  if (key == "index.docker.io" || key == "registry-1.docker.io" || key == "registry.hub.docker.com") return "docker.io";
  return key;
}

}  // namespace

std::vector<AuthChallenge> parse_www_authenticate(std::string_view header) { return ChallengeParser(header).parse(); }

std::map<std::string, Credentials> parse_docker_auth_file(std::string_view json) {
  const auto document = nlohmann::json::parse(json, nullptr, false);
  if (document.is_discarded() || !document.is_object()) {
    throw StorageError(Failure::invalid, "the registry auth file is not a JSON object");
  }
  std::map<std::string, Credentials> out;
  if (!document.contains("auths")) return out;
  const auto& auths = document["auths"];
  if (!auths.is_object()) throw StorageError(Failure::invalid, "the registry auth file: \"auths\" must be an object");
  for (const auto& [key, entry] : auths.items()) {
    const std::string where = "the registry auth file: auths[\"" + key + "\"]";
    if (!entry.is_object()) throw StorageError(Failure::invalid, where + " must be an object");
    Credentials credentials;
    if (entry.contains("auth") && entry["auth"].is_string() && !entry["auth"].get<std::string>().empty()) {
      const std::string pair = base64_decode(entry["auth"].get<std::string>(), where + ": \"auth\"");
      const auto colon = pair.find(':');
      if (colon == std::string::npos) throw StorageError(Failure::invalid, where + ": \"auth\" must encode user:password");
      credentials.username = pair.substr(0, colon);
      credentials.password = pair.substr(colon + 1);
    } else if (entry.contains("username") && entry["username"].is_string()) {
      credentials.username = entry["username"].get<std::string>();
      credentials.password = entry.value("password", "");
    } else if (entry.contains("identitytoken") && entry["identitytoken"].is_string()) {
      credentials.password = entry["identitytoken"].get<std::string>();
    } else {
      continue;  // an empty entry (docker login with a credential helper writes these)
    }
    out[auth_key_host(key)] = credentials;
  }
  return out;
}

std::string basic_authorization(const Credentials& credentials) {
  return "Basic " + base64_encode(credentials.username + ":" + credentials.password);
}

}  // namespace deckhand::storage
