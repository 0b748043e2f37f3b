// Label selectors as `kubectl get -l` takes them: equality ("app=web",
// "app==web", "tier!=db"), set-based ("env in (prod,qa)", "env notin (dev)"),
// existence ("app", "!app"), joined by commas (AND), with Kubernetes' checks
// on keys and values.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace deckhand::pods {

struct SelectorError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

class LabelSelector {
 public:
  enum class Op { equals, not_equals, in, not_in, exists, does_not_exist };
  struct Requirement {
    std::string key;
    Op op = Op::exists;
    std::vector<std::string> values;  // sorted, unique
  };

  // "" selects everything. Throws SelectorError naming the problem.
  static LabelSelector parse(std::string_view text);
  bool matches(const std::map<std::string, std::string>& labels) const;
  bool empty() const { return requirements_.empty(); }
  const std::vector<Requirement>& requirements() const { return requirements_; }

 private:
  std::vector<Requirement> requirements_;
};

}  // namespace deckhand::pods
