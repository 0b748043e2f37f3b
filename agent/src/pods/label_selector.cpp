// Label selectors, parsed as k8s.io/apimachinery/pkg/labels' Parse does
// (the parser behind `kubectl get -l`): the same lexer, the same grammar and
// the same error texts, so a selector kubectl refuses is refused here with
// the words kubectl prints. Deckhand has no "gt"/"lt" ('>' and '<'), which
// Kubernetes also offers, and a NUL byte is an ordinary (invalid) character
// here where Go's lexer takes it for the end of the text.
#include "pods/label_selector.hpp"

#include <algorithm>
#include <cstddef>
#include <utility>

#include "pods/k8s_names.hpp"

namespace deckhand::pods {
namespace {

enum class Token {
  end,
  identifier,
  comma,
  open_par,
  closed_par,
  does_not_exist,  // "!"
  equals,          // "="
  double_equals,   // "=="
  not_equals,      // "!="
  greater_than,    // ">": lexed as Kubernetes does, refused as an operator
  less_than,       // "<"
  in,              // "in"
  not_in,          // "notin"
};

struct Item {
  Token token = Token::end;
  std::string literal;
};

bool is_whitespace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool is_special_symbol(char c) {
  return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

Token special_token(std::string_view symbol) {
  if (symbol == "!=") return Token::not_equals;
  if (symbol == "==") return Token::double_equals;
  switch (symbol.front()) {
    case '=': return Token::equals;
    case '!': return Token::does_not_exist;
    case '(': return Token::open_par;
    case ')': return Token::closed_par;
    case ',': return Token::comma;
    case '>': return Token::greater_than;
    default: return Token::less_than;
  }
}

// The Lexer of selector.go. Operators are the longest run of special
// symbols that forms one ("!=" and "==" are the only two-character ones);
// anything else up to a special symbol or a blank is an identifier, or the
// keyword "in" or "notin".
std::vector<Item> scan(std::string_view text) {
  std::vector<Item> items;
  size_t pos = 0;
  while (true) {
    while (pos < text.size() && is_whitespace(text[pos])) ++pos;
    if (pos == text.size()) break;
    if (is_special_symbol(text[pos])) {
      const bool pair = (text[pos] == '!' || text[pos] == '=') && pos + 1 < text.size() && text[pos + 1] == '=';
      const std::string_view symbol = text.substr(pos, pair ? 2 : 1);
      items.push_back({special_token(symbol), std::string(symbol)});
      pos += symbol.size();
      continue;
    }
    const size_t start = pos;
    while (pos < text.size() && !is_special_symbol(text[pos]) && !is_whitespace(text[pos])) ++pos;
    std::string word(text.substr(start, pos - start));
    const Token token = word == "in" ? Token::in : word == "notin" ? Token::not_in : Token::identifier;
    items.push_back({token, std::move(word)});
  }
  items.push_back({Token::end, ""});
  return items;
}

// Go's %q for the values Kubernetes' field errors quote: printable ASCII and
// valid UTF-8 as they are, the rest escaped.
std::string go_quote(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string result = "\"";
  for (size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    switch (byte) {
      case '"': result += "\\\""; continue;
      case '\\': result += "\\\\"; continue;
      case '\a': result += "\\a"; continue;
      case '\b': result += "\\b"; continue;
      case '\f': result += "\\f"; continue;
      case '\n': result += "\\n"; continue;
      case '\r': result += "\\r"; continue;
      case '\t': result += "\\t"; continue;
      case '\v': result += "\\v"; continue;
      default: break;
    }
    if (byte >= 0x20 && byte < 0x7f) {
      result += text[i];
      continue;
    }
    // A whole UTF-8 sequence is copied; a stray byte is escaped, as Go does.
    const size_t length = byte >= 0xf0 && byte < 0xf5 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc2 && byte < 0xe0 ? 2 : 0;
    bool valid = length > 0 && i + length <= text.size();
    for (size_t k = 1; valid && k < length; ++k) valid = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
    if (valid) {
      result += text.substr(i, length);
      i += length - 1;
    } else {
      result += "\\x";
      result += kHex[byte >> 4];
      result += kHex[byte & 0xf];
    }
  }
  return result + "\"";
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string result;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) result += separator;
    result += parts[i];
  }
  return result;
}

// The parse error of one requirement, which Parse reports after "unable to
// parse requirement: ".
struct RequirementError {
  std::string message;
};

// selector.go's Parser: a recursive descent over the scanned items. In the
// Values context the keywords "in" and "notin" are plain identifiers, so
// "in in (in, notin)" is a selector.
class Parser {
 public:
  explicit Parser(std::string_view text) : items_(scan(text)) {}

  std::vector<LabelSelector::Requirement> parse() {
    std::vector<LabelSelector::Requirement> requirements;
    while (true) {
      const Item next = lookahead(Context::values);
      if (next.token == Token::end) return requirements;
      if (next.token != Token::identifier && next.token != Token::does_not_exist) {
        throw SelectorError("found '" + next.literal + "', expected: !, identifier, or 'end of string'");
      }
      try {
        requirements.push_back(parse_requirement());
      } catch (const RequirementError& e) {
        throw SelectorError("unable to parse requirement: " + e.message);
      }
      const Item after = consume(Context::values);
      if (after.token == Token::end) return requirements;
      if (after.token != Token::comma) {
        throw SelectorError("found '" + after.literal + "', expected: ',' or 'end of string'");
      }
      const Item following = lookahead(Context::values);
      if (following.token != Token::identifier && following.token != Token::does_not_exist) {
        throw SelectorError("found '" + following.literal + "', expected: identifier after ','");
      }
    }
  }

 private:
  enum class Context { key_and_operator, values };

  // The current item, seen as a context sees it.
  Item view(size_t position, Context context) const {
    Item item = items_[std::min(position, items_.size() - 1)];
    if (context == Context::values && (item.token == Token::in || item.token == Token::not_in)) {
      item.token = Token::identifier;
    }
    return item;
  }
  Item lookahead(Context context) const { return view(position_, context); }
  Item consume(Context context) { return view(position_++, context); }

  LabelSelector::Requirement parse_requirement() {
    LabelSelector::Requirement requirement;
    requirement.key = parse_key(requirement.op);
    if (requirement.op == LabelSelector::Op::exists || requirement.op == LabelSelector::Op::does_not_exist) {
      return requirement;
    }
    requirement.op = parse_operator();
    if (requirement.op == LabelSelector::Op::in || requirement.op == LabelSelector::Op::not_in) {
      requirement.values = parse_value_set();
    } else {
      requirement.values = parse_exact_value();
    }
    check_values(requirement);
    return requirement;
  }

  // parseKeyAndInferOperator: "!key" is does_not_exist, a key followed by
  // ',' or the end is exists; otherwise an operator follows (op is left as
  // is, or does_not_exist for "!key", which then fails in parse()).
  std::string parse_key(LabelSelector::Op& op) {
    bool negated = false;
    Item item = consume(Context::values);
    if (item.token == Token::does_not_exist) {
      negated = true;
      item = consume(Context::values);
    }
    if (item.token != Token::identifier) throw RequirementError{"found '" + item.literal + "', expected: identifier"};
    if (const std::vector<std::string> errors = qualified_name_errors(item.literal); !errors.empty()) {
      throw RequirementError{"<nil>: Invalid value: " + go_quote(item.literal) + ": " + join(errors, "; ")};
    }
    const Token next = lookahead(Context::values).token;
    if (negated) {
      op = LabelSelector::Op::does_not_exist;
    } else if (next == Token::end || next == Token::comma) {
      op = LabelSelector::Op::exists;
    } else {
      op = LabelSelector::Op::equals;  // replaced by parse_operator
    }
    return std::move(item.literal);
  }

  LabelSelector::Op parse_operator() {
    const Item item = consume(Context::key_and_operator);
    switch (item.token) {
      case Token::in: return LabelSelector::Op::in;
      case Token::not_in: return LabelSelector::Op::not_in;
      case Token::equals:
      case Token::double_equals: return LabelSelector::Op::equals;
      case Token::not_equals: return LabelSelector::Op::not_equals;
      default: throw RequirementError{"found '" + item.literal + "', expected: in, notin, =, ==, !="};
    }
  }

  // "(a,b)"; "()" is the one empty value, and so is an empty item: "(a,)".
  std::vector<std::string> parse_value_set() {
    const Item open = consume(Context::values);
    if (open.token != Token::open_par) throw RequirementError{"found '" + open.literal + "' expected: '('"};
    const Item first = lookahead(Context::values);
    std::vector<std::string> values;
    if (first.token == Token::closed_par) {
      consume(Context::values);
      values.emplace_back();
    } else if (first.token == Token::identifier || first.token == Token::comma) {
      values = parse_identifier_list();
      consume(Context::values);  // the ')' the list stopped at
    } else {
      throw RequirementError{"found '" + first.literal + "', expected: ',', ')' or identifier"};
    }
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    return values;
  }

  // parseIdentifiersList: stops before the ')'.
  std::vector<std::string> parse_identifier_list() {
    std::vector<std::string> values;
    while (true) {
      Item item = consume(Context::values);
      if (item.token == Token::identifier) {
        values.push_back(std::move(item.literal));
        const Item next = lookahead(Context::values);
        if (next.token == Token::closed_par) return values;
        if (next.token != Token::comma) throw RequirementError{"found '" + next.literal + "', expected: ',' or ')'"};
      } else if (item.token == Token::comma) {
        // An empty item before, between or after commas is the empty value.
        if (values.empty()) values.emplace_back();
        const Token next = lookahead(Context::values).token;
        if (next == Token::closed_par) {
          values.emplace_back();
          return values;
        }
        if (next == Token::comma) values.emplace_back();
      } else {
        throw RequirementError{"found '" + item.literal + "', expected: ',', or identifier"};
      }
    }
  }

  // The value after "=", "==" or "!=": empty when nothing follows.
  std::vector<std::string> parse_exact_value() {
    const Token next = lookahead(Context::values).token;
    if (next == Token::end || next == Token::comma) return {""};
    Item item = consume(Context::values);
    if (item.token != Token::identifier) throw RequirementError{"found '" + item.literal + "', expected: identifier"};
    return {std::move(item.literal)};
  }

  // NewRequirement's check of each value, reported as a field error on
  // values[i][key] (i in sorted order); several are bracketed, as an
  // aggregate error prints them.
  static void check_values(const LabelSelector::Requirement& requirement) {
    std::vector<std::string> problems;
    for (size_t i = 0; i < requirement.values.size(); ++i) {
      const std::string& value = requirement.values[i];
      if (const std::vector<std::string> errors = label_value_errors(value); !errors.empty()) {
        problems.push_back("values[" + std::to_string(i) + "][" + requirement.key + "]: Invalid value: " +
                           go_quote(value) + ": " + join(errors, "; "));
      }
    }
    if (problems.size() == 1) throw RequirementError{problems.front()};
    if (problems.size() > 1) throw RequirementError{"[" + join(problems, ", ") + "]"};
  }

  std::vector<Item> items_;
  size_t position_ = 0;
};

bool requirement_matches(const LabelSelector::Requirement& requirement,
                         const std::map<std::string, std::string>& labels) {
  const auto label = labels.find(requirement.key);
  const bool present = label != labels.end();
  const auto listed = [&] {
    return std::binary_search(requirement.values.begin(), requirement.values.end(), label->second);
  };
  switch (requirement.op) {
    case LabelSelector::Op::equals:
    case LabelSelector::Op::in: return present && listed();
    // As Kubernetes: a pod without the label is "not equal" to any value.
    case LabelSelector::Op::not_equals:
    case LabelSelector::Op::not_in: return !present || !listed();
    case LabelSelector::Op::exists: return present;
    case LabelSelector::Op::does_not_exist: return !present;
  }
  return false;
}

}  // namespace

LabelSelector LabelSelector::parse(std::string_view text) {
  LabelSelector selector;
  selector.requirements_ = Parser(text).parse();
  // Kubernetes sorts by key so that equal selectors compare and print alike.
  std::stable_sort(selector.requirements_.begin(), selector.requirements_.end(),
                   [](const Requirement& a, const Requirement& b) { return a.key < b.key; });
  return selector;
}

bool LabelSelector::matches(const std::map<std::string, std::string>& labels) const {
  return std::all_of(requirements_.begin(), requirements_.end(),
                     [&](const Requirement& requirement) { return requirement_matches(requirement, labels); });
}

}  // namespace deckhand::pods
