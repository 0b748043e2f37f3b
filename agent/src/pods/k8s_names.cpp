// Kubernetes' name rules (k8s.io/apimachinery/pkg/util/validation and
// pkg/api/validate/content), checked with plain loops instead of regular
// expressions: std::regex is slow and recurses per character, so a long
// hostile name could overflow the stack. The messages are Kubernetes' own,
// byte for byte (including the double space RegexError leaves before "or"),
// because users compare them with what kubectl prints.
#include "pods/k8s_names.hpp"

#include <initializer_list>

namespace deckhand::pods {
namespace {

constexpr size_t kDns1123LabelMaxLength = 63;
constexpr size_t kDns1123SubdomainMaxLength = 253;
constexpr size_t kQualifiedNameMaxLength = 63;
constexpr size_t kLabelValueMaxLength = 63;
constexpr size_t kPortNameMaxLength = 15;

// The patterns as Kubernetes prints them in its messages.
constexpr std::string_view kDns1123LabelFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
constexpr std::string_view kDns1123SubdomainFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
constexpr std::string_view kQualifiedNameFmt = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
constexpr std::string_view kLabelValueFmt = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
constexpr std::string_view kEnvVarNameFmt = "[-._a-zA-Z][-._a-zA-Z0-9]*";

constexpr std::string_view kDns1123LabelErrMsg =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end "
    "with an alphanumeric character";
constexpr std::string_view kDns1123SubdomainErrMsg =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start "
    "and end with an alphanumeric character";
constexpr std::string_view kQualifiedNameErrMsg =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
constexpr std::string_view kLabelValueErrMsg =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character";
constexpr std::string_view kEnvVarNameErrMsg =
    "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not "
    "start with a digit";

// validation.MaxLenError.
std::string max_len_error(size_t length) { return "must be no more than " + std::to_string(length) + " characters"; }

// validation.RegexError: "<msg> (e.g. 'a',  or 'b', regex used for validation is '<fmt>')". Each example is
// followed by ", " and joined with " or ", hence the two spaces.
std::string regex_error(std::string_view message, std::string_view format,
                        std::initializer_list<std::string_view> examples) {
  std::string result(message);
  result += " (e.g. ";
  bool first = true;
  for (std::string_view example : examples) {
    if (!first) result += " or ";
    first = false;
    result += "'";
    result += example;
    result += "', ";
  }
  result += "regex used for validation is '";
  result += format;
  result += "')";
  return result;
}

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

// [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool matches_dns1123_label(std::string_view value) {
  if (value.empty() || !is_lower_alnum(value.front()) || !is_lower_alnum(value.back())) return false;
  for (char c : value) {
    if (!is_lower_alnum(c) && c != '-') return false;
  }
  return true;
}

// Labels joined by single dots.
bool matches_dns1123_subdomain(std::string_view value) {
  while (true) {
    const size_t dot = value.find('.');
    if (!matches_dns1123_label(value.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    value.remove_prefix(dot + 1);
  }
}

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool matches_qualified_name(std::string_view value) {
  if (value.empty() || !is_alnum(value.front()) || !is_alnum(value.back())) return false;
  for (char c : value) {
    if (!is_alnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

// [-._a-zA-Z][-._a-zA-Z0-9]*
bool matches_env_var_name(std::string_view value) {
  if (value.empty() || is_digit(value.front())) return false;
  for (char c : value) {
    if (!is_alnum(c) && c != '-' && c != '.' && c != '_') return false;
  }
  return true;
}

// validation.hasChDirPrefix: names that would be '.' or '..' as files (env
// var names can become file names, e.g. for env files).
void add_chdir_prefix_errors(std::string_view value, std::vector<std::string>& errors) {
  if (value == ".") {
    errors.emplace_back("must not be '.'");
  } else if (value == "..") {
    errors.emplace_back("must not be '..'");
  } else if (value.starts_with("..")) {
    errors.emplace_back("must not start with '..'");
  }
}

}  // namespace

std::vector<std::string> dns1123_label_errors(std::string_view value) {
  std::vector<std::string> errors;
  if (value.size() > kDns1123LabelMaxLength) errors.push_back(max_len_error(kDns1123LabelMaxLength));
  if (!matches_dns1123_label(value)) {
    // A valid subdomain that is not a valid label can only be wrong by its dots:
    // Kubernetes says just that rather than the whole pattern.
    if (matches_dns1123_subdomain(value)) {
      errors.emplace_back("must not contain dots");
    } else {
      errors.push_back(regex_error(kDns1123LabelErrMsg, kDns1123LabelFmt, {"my-name", "123-abc"}));
    }
  }
  return errors;
}

std::vector<std::string> dns1123_subdomain_errors(std::string_view value) {
  std::vector<std::string> errors;
  if (value.size() > kDns1123SubdomainMaxLength) errors.push_back(max_len_error(kDns1123SubdomainMaxLength));
  if (!matches_dns1123_subdomain(value)) {
    errors.push_back(regex_error(kDns1123SubdomainErrMsg, kDns1123SubdomainFmt, {"example.com"}));
  }
  return errors;
}

std::vector<std::string> qualified_name_errors(std::string_view value) {
  std::vector<std::string> errors;
  std::string_view name = value;
  const size_t slash = value.find('/');
  if (slash != std::string_view::npos) {
    if (value.find('/', slash + 1) != std::string_view::npos) {
      // More than one '/': Kubernetes reports the whole format and nothing else.
      errors.push_back("a qualified name " +
                       regex_error(kQualifiedNameErrMsg, kQualifiedNameFmt, {"MyName", "my.name", "123-abc"}) +
                       " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
      return errors;
    }
    const std::string_view prefix = value.substr(0, slash);
    name = value.substr(slash + 1);
    if (prefix.empty()) {
      errors.emplace_back("prefix part must be non-empty");
    } else {
      for (const std::string& message : dns1123_subdomain_errors(prefix)) errors.push_back("prefix part " + message);
    }
  }
  if (name.empty()) {
    errors.emplace_back("name part must be non-empty");
  } else if (name.size() > kQualifiedNameMaxLength) {
    errors.push_back("name part " + max_len_error(kQualifiedNameMaxLength));
  }
  if (!matches_qualified_name(name)) {
    errors.push_back("name part " +
                     regex_error(kQualifiedNameErrMsg, kQualifiedNameFmt, {"MyName", "my.name", "123-abc"}));
  }
  return errors;
}

std::vector<std::string> label_value_errors(std::string_view value) {
  std::vector<std::string> errors;
  if (value.size() > kLabelValueMaxLength) errors.push_back(max_len_error(kLabelValueMaxLength));
  if (!value.empty() && !matches_qualified_name(value)) {
    errors.push_back(regex_error(kLabelValueErrMsg, kLabelValueFmt, {"MyValue", "my_value", "12345"}));
  }
  return errors;
}

std::vector<std::string> env_var_name_errors(std::string_view value) {
  std::vector<std::string> errors;
  if (!matches_env_var_name(value)) {
    errors.push_back(regex_error(kEnvVarNameErrMsg, kEnvVarNameFmt, {"my.env-name", "MY_ENV.NAME", "MyEnvName1"}));
  }
  add_chdir_prefix_errors(value, errors);
  return errors;
}

std::vector<std::string> port_name_errors(std::string_view value) {
  // Each rule is reported on its own, as Kubernetes does, so "--" gets several messages.
  std::vector<std::string> errors;
  if (value.size() > kPortNameMaxLength) errors.push_back(max_len_error(kPortNameMaxLength));
  bool charset_ok = !value.empty();
  bool has_letter = false;
  for (char c : value) {
    if (!is_lower_alnum(c) && c != '-') charset_ok = false;
    if (c >= 'a' && c <= 'z') has_letter = true;
  }
  if (!charset_ok) errors.emplace_back("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (!has_letter) errors.emplace_back("must contain at least one letter (a-z)");
  if (value.find("--") != std::string_view::npos) errors.emplace_back("must not contain consecutive hyphens");
  if (!value.empty() && (value.front() == '-' || value.back() == '-')) {
    errors.emplace_back("must not begin or end with a hyphen");
  }
  return errors;
}

}  // namespace deckhand::pods
