// Label selectors as `kubectl get -l` takes them: the cases of apimachinery's
// selector_test.go (parse, lexer corner cases, matching), with the error
// texts Kubernetes prints, and deckhand's one difference (no "gt"/"lt").
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "k8s_messages.hpp"
#include "pods/label_selector.hpp"

namespace deckhand::pods {
namespace {

using namespace deckhand::pods::test;  // Kubernetes' messages

using Labels = std::map<std::string, std::string>;
using Op = LabelSelector::Op;
using Values = std::vector<std::string>;

std::string error_of(const std::string& text) {
  try {
    LabelSelector::parse(text);
  } catch (const SelectorError& e) {
    return e.what();
  }
  return "";
}

bool matches(const std::string& selector, const Labels& labels) {
  return LabelSelector::parse(selector).matches(labels);
}

void expect_requirement(const LabelSelector::Requirement& requirement, const std::string& key, Op op,
                        const Values& values) {
  EXPECT_EQ(requirement.key, key);
  EXPECT_EQ(requirement.op, op) << key;
  EXPECT_EQ(requirement.values, values) << key;
}

TEST(LabelSelector, EmptySelectsEverything) {
  for (const std::string text : {"", " ", "\t\r\n "}) {
    const LabelSelector selector = LabelSelector::parse(text);
    EXPECT_TRUE(selector.empty());
    EXPECT_TRUE(selector.matches({}));
    EXPECT_TRUE(selector.matches({{"x", "y"}}));
  }
}

TEST(LabelSelector, EqualityRequirements) {
  const LabelSelector selector = LabelSelector::parse("z=c,x==a,y!=b");
  ASSERT_EQ(selector.requirements().size(), 3u);
  // Sorted by key, as Kubernetes does for a deterministic parse.
  expect_requirement(selector.requirements()[0], "x", Op::equals, {"a"});
  expect_requirement(selector.requirements()[1], "y", Op::not_equals, {"b"});
  expect_requirement(selector.requirements()[2], "z", Op::equals, {"c"});
  EXPECT_FALSE(selector.empty());
}

TEST(LabelSelector, AnEqualityWithNothingAfterItIsTheEmptyValue) {
  for (const std::string text : {"x=", "x= ", "x==", "x=,z= ", "x= ,z= "}) {
    const LabelSelector selector = LabelSelector::parse(text);
    ASSERT_FALSE(selector.requirements().empty()) << text;
    expect_requirement(selector.requirements()[0], "x", Op::equals, {""});
  }
  EXPECT_TRUE(matches("x=", {{"x", ""}}));
  EXPECT_FALSE(matches("x=", {}));
  EXPECT_FALSE(matches("x=", {{"x", "a"}}));
  expect_requirement(LabelSelector::parse("x!=").requirements()[0], "x", Op::not_equals, {""});
}

TEST(LabelSelector, SetBasedRequirements) {
  const LabelSelector selector = LabelSelector::parse("x notin (abc,def),bar,z in (),w");
  ASSERT_EQ(selector.requirements().size(), 4u);
  expect_requirement(selector.requirements()[0], "bar", Op::exists, {});
  expect_requirement(selector.requirements()[1], "w", Op::exists, {});
  expect_requirement(selector.requirements()[2], "x", Op::not_in, {"abc", "def"});
  expect_requirement(selector.requirements()[3], "z", Op::in, {""});

  expect_requirement(LabelSelector::parse("env in (qa, prod,qa , dev)").requirements()[0], "env", Op::in,
                     {"dev", "prod", "qa"});  // sorted, unique
  expect_requirement(LabelSelector::parse("x in (abc,)").requirements()[0], "x", Op::in, {"", "abc"});
  expect_requirement(LabelSelector::parse("x notin ( )").requirements()[0], "x", Op::not_in, {""});
  expect_requirement(LabelSelector::parse("x notin (, a)").requirements()[0], "x", Op::not_in, {"", "a"});
  expect_requirement(LabelSelector::parse("x in (,,)").requirements()[0], "x", Op::in, {""});
  expect_requirement(LabelSelector::parse("x in (a,,b)").requirements()[0], "x", Op::in, {"", "a", "b"});
}

TEST(LabelSelector, KeywordsAreIdentifiersWhereAValueOrKeyIsExpected) {
  expect_requirement(LabelSelector::parse("a in (x,y,notin, z,in)").requirements()[0], "a", Op::in,
                     {"in", "notin", "x", "y", "z"});
  expect_requirement(LabelSelector::parse("notin=in").requirements()[0], "notin", Op::equals, {"in"});
  expect_requirement(LabelSelector::parse("in in (in)").requirements()[0], "in", Op::in, {"in"});
  expect_requirement(LabelSelector::parse("in").requirements()[0], "in", Op::exists, {});
  expect_requirement(LabelSelector::parse("!notin").requirements()[0], "notin", Op::does_not_exist, {});
  EXPECT_TRUE(matches("notin=in", {{"notin", "in"}}));
}

TEST(LabelSelector, ExistenceRequirements) {
  const LabelSelector selector = LabelSelector::parse("!x, y");
  ASSERT_EQ(selector.requirements().size(), 2u);
  expect_requirement(selector.requirements()[0], "x", Op::does_not_exist, {});
  expect_requirement(selector.requirements()[1], "y", Op::exists, {});
  expect_requirement(LabelSelector::parse("\rx").requirements()[0], "x", Op::exists, {});
  expect_requirement(LabelSelector::parse("a ").requirements()[0], "a", Op::exists, {});
  expect_requirement(LabelSelector::parse("! x").requirements()[0], "x", Op::does_not_exist, {});
}

TEST(LabelSelector, WhitespaceAroundTokensAndPrefixedKeys) {
  expect_requirement(LabelSelector::parse("foo  in\t (abc)").requirements()[0], "foo", Op::in, {"abc"});
  expect_requirement(LabelSelector::parse("x notin\n (abc)").requirements()[0], "x", Op::not_in, {"abc"});
  expect_requirement(LabelSelector::parse("  app  =  web  ").requirements()[0], "app", Op::equals, {"web"});
  expect_requirement(LabelSelector::parse("this-is-a-dns.domain.com/key-with-dash").requirements()[0],
                     "this-is-a-dns.domain.com/key-with-dash", Op::exists, {});
  expect_requirement(LabelSelector::parse("0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)").requirements()[0],
                     "0.1.2.domain/99", Op::not_in, {"10.10.100.1", "tick.tack.clock"});
  expect_requirement(LabelSelector::parse("app.kubernetes.io/name=web").requirements()[0], "app.kubernetes.io/name",
                     Op::equals, {"web"});
}

TEST(LabelSelector, RepeatedKeysAreAllKept) {
  const LabelSelector selector = LabelSelector::parse("x=a,y,x!=b");
  ASSERT_EQ(selector.requirements().size(), 3u);
  expect_requirement(selector.requirements()[0], "x", Op::equals, {"a"});  // stable: in the order written
  expect_requirement(selector.requirements()[1], "x", Op::not_equals, {"b"});
  EXPECT_FALSE(matches("x=a,x=b", {{"x", "a"}}));
  EXPECT_TRUE(matches("x=a,x!=b", {{"x", "a"}}));
}

TEST(LabelSelector, MatchesAsKubernetes) {
  EXPECT_TRUE(matches("", {{"x", "y"}}));
  EXPECT_TRUE(matches("x=y", {{"x", "y"}}));
  EXPECT_TRUE(matches("x==y", {{"x", "y"}}));
  EXPECT_TRUE(matches("x=y,z=w", {{"x", "y"}, {"z", "w"}}));
  EXPECT_TRUE(matches("x!=y,z!=w", {{"x", "z"}, {"z", "a"}}));
  EXPECT_TRUE(matches("x", {{"x", "z"}}));
  EXPECT_TRUE(matches("x", {{"x", ""}}));
  EXPECT_TRUE(matches("!x", {{"y", "z"}}));
  EXPECT_FALSE(matches("x=z", {}));
  EXPECT_FALSE(matches("x=y", {{"x", "z"}}));
  EXPECT_FALSE(matches("x=y,z=w", {{"x", "w"}, {"z", "w"}}));
  EXPECT_FALSE(matches("x!=y,z!=w", {{"x", "z"}, {"z", "w"}}));
  EXPECT_FALSE(matches("x", {{"y", "z"}}));
  EXPECT_FALSE(matches("!x", {{"x", "z"}}));
  EXPECT_FALSE(matches("X=y", {{"x", "y"}}));  // keys and values are case-sensitive
  EXPECT_FALSE(matches("x=Y", {{"x", "y"}}));

  const Labels labels = {{"foo", "bar"}, {"baz", "blah"}};
  EXPECT_TRUE(matches("foo=bar", labels));
  EXPECT_TRUE(matches("baz=blah", labels));
  EXPECT_TRUE(matches("foo=bar,baz=blah", labels));
  EXPECT_FALSE(matches("foo=blah", labels));
  EXPECT_FALSE(matches("baz=bar", labels));
  EXPECT_FALSE(matches("foo=bar,foobar=bar,baz=blah", labels));
}

TEST(LabelSelector, NotInAndNotEqualsMatchWhenTheKeyIsAbsent) {
  EXPECT_TRUE(matches("x notin (a)", {}));
  EXPECT_TRUE(matches("x!=a", {{"y", "a"}}));
  EXPECT_TRUE(matches("x notin (), y", {{"y", ""}}));
  EXPECT_FALSE(matches("x notin (), !y", {{"y", ""}}));
  EXPECT_TRUE(matches("!x, y", {{"y", ""}}));
  EXPECT_FALSE(matches("x in ()", {{"y", "baz"}}));  // in needs the key
  EXPECT_TRUE(matches("x in ()", {{"x", ""}}));
  EXPECT_TRUE(matches("x in (foo), y notin (alpha)", {{"x", "foo"}, {"y", "baz"}}));
  EXPECT_FALSE(matches("x in (foo), y in (alpha)", {{"x", "foo"}, {"y", "baz"}}));
  EXPECT_FALSE(matches("env notin (prod, qa)", {{"env", "qa"}}));
  EXPECT_TRUE(matches("env notin (prod, qa)", {{"env", "dev"}}));
  EXPECT_TRUE(matches("env in (prod, qa)", {{"env", "prod"}}));
}

TEST(LabelSelector, GrammarErrorsInKubernetesWords) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"x==a==b", "found '==', expected: ',' or 'end of string'"},
      {"!x=a", "found '=', expected: ',' or 'end of string'"},
      {"x,,y", "found ',', expected: identifier after ','"},
      {",x,y", "found ',', expected: !, identifier, or 'end of string'"},
      {"(", "found '(', expected: !, identifier, or 'end of string'"},
      {"=a", "found '=', expected: !, identifier, or 'end of string'"},
      {"!=a", "found '!=', expected: !, identifier, or 'end of string'"},
      {"a in (xyz),", "found '', expected: identifier after ','"},
      {"a in (xyz)b notin ()", "found 'b', expected: ',' or 'end of string'"},
      {"x nott in (y)", "unable to parse requirement: found 'nott', expected: in, notin, =, ==, !="},
      {"a (", "unable to parse requirement: found '(', expected: in, notin, =, ==, !="},
      {"x!", "unable to parse requirement: found '!', expected: in, notin, =, ==, !="},
      {"a in (xyz abc)", "unable to parse requirement: found 'abc', expected: ',' or ')'"},
      {"a notin(", "unable to parse requirement: found '', expected: ',', ')' or identifier"},
      {"a in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"},
      {"x in (a", "unable to parse requirement: found '', expected: ',' or ')'"},
      {"x in (a,", "unable to parse requirement: found '', expected: ',', or identifier"},
      {"x in (a,=)", "unable to parse requirement: found '=', expected: ',', or identifier"},
      {"x in", "unable to parse requirement: found '' expected: '('"},
      {"x in a", "unable to parse requirement: found 'a' expected: '('"},
      {"x=(a)", "unable to parse requirement: found '(', expected: identifier"},
      {"x=!", "unable to parse requirement: found '!', expected: identifier"},
      {"!", "unable to parse requirement: found '', expected: identifier"},
      {"!!x", "unable to parse requirement: found '!', expected: identifier"},
      {"!,x", "unable to parse requirement: found ',', expected: identifier"},
  };
  for (const auto& [text, message] : cases) EXPECT_EQ(error_of(text), message) << text;
}

TEST(LabelSelector, GreaterAndLessThanAreNotSupported) {
  // Kubernetes has "x>1" and "x<1" (gt, lt); deckhand refuses them, at the operator.
  EXPECT_EQ(error_of("x>1"), "unable to parse requirement: found '>', expected: in, notin, =, ==, !=");
  EXPECT_EQ(error_of("x<a"), "unable to parse requirement: found '<', expected: in, notin, =, ==, !=");
  EXPECT_EQ(error_of("x>=1"), "unable to parse requirement: found '>', expected: in, notin, =, ==, !=");
}

TEST(LabelSelector, KeysAreCheckedAsQualifiedNames) {
  EXPECT_EQ(error_of("-app"), "unable to parse requirement: <nil>: Invalid value: \"-app\": " + kNamePartRegex);
  // What kubectl prints for the common mistake of a colon.
  EXPECT_EQ(error_of("app:monolith"),
            "unable to parse requirement: <nil>: Invalid value: \"app:monolith\": " + kNamePartRegex);
  EXPECT_EQ(error_of("x=a||y=b"),
            "unable to parse requirement: values[0][x]: Invalid value: \"a||y\": " + kLabelValueRegex);
  EXPECT_EQ(error_of("app.kubernetes_io/name=x"),
            "unable to parse requirement: <nil>: Invalid value: \"app.kubernetes_io/name\": prefix part a lowercase "
            "RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and "
            "end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
  // Several problems with one key are joined by "; ".
  EXPECT_EQ(error_of("/"), "unable to parse requirement: <nil>: Invalid value: \"/\": prefix part must be "
                           "non-empty; name part must be non-empty; " + kNamePartRegex);
  EXPECT_EQ(error_of("!" + std::string(64, 'k')), "unable to parse requirement: <nil>: Invalid value: \"" +
                                                      std::string(64, 'k') +
                                                      "\": name part must be no more than 63 characters");
  EXPECT_EQ(error_of("a\"b"), "unable to parse requirement: <nil>: Invalid value: \"a\\\"b\": " + kNamePartRegex);
  EXPECT_EQ(error_of(std::string("a\0b", 3)),
            "unable to parse requirement: <nil>: Invalid value: \"a\\x00b\": " + kNamePartRegex);
  EXPECT_EQ(error_of("\xc3\xa9"), "unable to parse requirement: <nil>: Invalid value: \"\xc3\xa9\": " + kNamePartRegex);
  EXPECT_EQ(error_of("\xff"), "unable to parse requirement: <nil>: Invalid value: \"\\xff\": " + kNamePartRegex);
  EXPECT_EQ(error_of(std::string(63, 'k') + "=v"), "");
}

TEST(LabelSelector, ValuesAreCheckedAsLabelValues) {
  EXPECT_EQ(error_of("x=" + std::string(64, 'z')), "unable to parse requirement: values[0][x]: Invalid value: \"" +
                                                       std::string(64, 'z') +
                                                       "\": must be no more than 63 characters");
  EXPECT_EQ(error_of("x=" + std::string(63, 'z')), "");
  EXPECT_EQ(error_of("x=-" + std::string(63, 'z')), "unable to parse requirement: values[0][x]: Invalid value: \"-" +
                                                        std::string(63, 'z') +
                                                        "\": must be no more than 63 characters; " + kLabelValueRegex);
  EXPECT_EQ(error_of("app!=a:b"), "unable to parse requirement: values[0][app]: Invalid value: \"a:b\": " +
                                      kLabelValueRegex);
  // The index is in sorted order; two bad values are listed as an aggregate.
  EXPECT_EQ(error_of("x in (ok, z:z)"),
            "unable to parse requirement: values[1][x]: Invalid value: \"z:z\": " + kLabelValueRegex);
  EXPECT_EQ(error_of("x notin (b:b, a:a, ok)"),
            "unable to parse requirement: [values[0][x]: Invalid value: \"a:a\": " + kLabelValueRegex +
                ", values[1][x]: Invalid value: \"b:b\": " + kLabelValueRegex + "]");
}

TEST(LabelSelector, LongSelectorsAreLinearWork) {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "k" + std::to_string(i) + " in (a, b, c),";
  text += "last";
  const LabelSelector selector = LabelSelector::parse(text);
  EXPECT_EQ(selector.requirements().size(), 20001u);
  EXPECT_FALSE(selector.matches({{"last", ""}}));

  std::string values = "x in (";
  for (int i = 0; i < 100000; ++i) values += "v" + std::to_string(i) + ",";
  values += ")";
  EXPECT_EQ(LabelSelector::parse(values).requirements()[0].values.size(), 100001u);  // with "" from the last ','

  EXPECT_NE(error_of(std::string(1 << 20, '(')).find("found '('"), std::string::npos);
  EXPECT_NE(error_of(std::string(1 << 20, 'k')).find("name part must be no more than 63 characters"),
            std::string::npos);
}

}  // namespace
}  // namespace deckhand::pods
