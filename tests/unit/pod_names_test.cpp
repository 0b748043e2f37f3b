// Kubernetes' name rules: the cases of apimachinery's validation_test.go and
// what users write, with the exact messages kubectl prints after "Invalid
// value: ...".
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "k8s_messages.hpp"
#include "pods/k8s_names.hpp"

namespace deckhand::pods {
namespace {

using namespace deckhand::pods::test;  // Kubernetes' messages

using Errors = std::vector<std::string>;


TEST(PodNames, Dns1123LabelAcceptsLowercaseAlphanumericsAndInnerHyphens) {
  for (const std::string name : {"a", "0", "ab", "a-b", "a--b", "123-abc", "my-name", "1-2-3", "abc123"}) {
    EXPECT_EQ(dns1123_label_errors(name), Errors{}) << name;
  }
  EXPECT_EQ(dns1123_label_errors(std::string(63, 'a')), Errors{});
}

TEST(PodNames, Dns1123LabelRefusesWithKubernetesWords) {
  for (const std::string name : {"", "-", "-a", "a-", "A", "aB", "a_b", "a b", "a/b", "ü", "a\nb", ".a", "a."}) {
    EXPECT_EQ(dns1123_label_errors(name), Errors{kLabelRegex}) << name;
  }
  // A valid subdomain that is not a label can only be wrong by its dots.
  EXPECT_EQ(dns1123_label_errors("a.b"), Errors{"must not contain dots"});
  EXPECT_EQ(dns1123_label_errors("my.pod.name"), Errors{"must not contain dots"});
  EXPECT_EQ(dns1123_label_errors("a..b"), Errors{kLabelRegex});
}

TEST(PodNames, Dns1123LabelIsAtMost63Characters) {
  EXPECT_EQ(dns1123_label_errors(std::string(64, 'a')), Errors{"must be no more than 63 characters"});
  EXPECT_EQ(dns1123_label_errors(std::string(64, '-')), (Errors{"must be no more than 63 characters", kLabelRegex}));
  // Too long with dots: both, the dots message from the shape.
  EXPECT_EQ(dns1123_label_errors(std::string(40, 'a') + "." + std::string(40, 'b')),
            (Errors{"must be no more than 63 characters", "must not contain dots"}));
}

TEST(PodNames, Dns1123SubdomainIsDotSeparatedLabels) {
  for (const std::string name : {"a", "a.b", "example.com", "a-b.c-d", "0.0", "my-pod.default.svc", "a.b.c.d.e"}) {
    EXPECT_EQ(dns1123_subdomain_errors(name), Errors{}) << name;
  }
  for (const std::string name : {"", ".", "a.", ".a", "a..b", "A.b", "a_b.c", "a.-b", "a-.b", "a.b/c", "a b"}) {
    EXPECT_EQ(dns1123_subdomain_errors(name), Errors{kSubdomainRegex}) << name;
  }
}

TEST(PodNames, Dns1123SubdomainIsAtMost253Characters) {
  // 253 characters made of 63-character labels: 4 x 63 + 3 dots = 255, so 3 + a shorter last.
  std::string name = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + ".";
  name += std::string(253 - name.size(), 'd');
  ASSERT_EQ(name.size(), 253u);
  EXPECT_EQ(dns1123_subdomain_errors(name), Errors{});
  EXPECT_EQ(dns1123_subdomain_errors(name + "d"), Errors{"must be no more than 253 characters"});
  EXPECT_EQ(dns1123_subdomain_errors(std::string(254, '.')),
            (Errors{"must be no more than 253 characters", kSubdomainRegex}));
  // Labels within a subdomain have no length limit of their own in this check, as in Kubernetes.
  EXPECT_EQ(dns1123_subdomain_errors(std::string(100, 'a')), Errors{});
}

TEST(PodNames, QualifiedNamesHaveAnOptionalSubdomainPrefix) {
  for (const std::string key :
       {"app", "App", "a", "1", "a.b", "a_b", "a-b", "A.b_C-9", "example.com/app", "app.kubernetes.io/name",
        "k8s.io/MyName", "a/b", "1.2.3/x"}) {
    EXPECT_EQ(qualified_name_errors(key), Errors{}) << key;
  }
  EXPECT_EQ(qualified_name_errors(std::string(63, 'a')), Errors{});
  EXPECT_EQ(qualified_name_errors(std::string(253, 'p') + "/" + std::string(63, 'n')), Errors{});
}

TEST(PodNames, QualifiedNameErrorsNameTheirPart) {
  EXPECT_EQ(qualified_name_errors(""), (Errors{"name part must be non-empty", kNamePartRegex}));
  EXPECT_EQ(qualified_name_errors("-app"), Errors{kNamePartRegex});
  EXPECT_EQ(qualified_name_errors("app_"), Errors{kNamePartRegex});
  EXPECT_EQ(qualified_name_errors("app:monolith"), Errors{kNamePartRegex});
  EXPECT_EQ(qualified_name_errors("a b"), Errors{kNamePartRegex});
  EXPECT_EQ(qualified_name_errors(std::string(64, 'a')), Errors{"name part must be no more than 63 characters"});
  EXPECT_EQ(qualified_name_errors("example.com/"), (Errors{"name part must be non-empty", kNamePartRegex}));
  EXPECT_EQ(qualified_name_errors("/app"), Errors{"prefix part must be non-empty"});
  EXPECT_EQ(qualified_name_errors("Example.com/app"), Errors{"prefix part " + kSubdomainRegex});
  EXPECT_EQ(qualified_name_errors("app.kubernetes_io/name"), Errors{"prefix part " + kSubdomainRegex});
  EXPECT_EQ(qualified_name_errors(std::string(254, 'p') + "/app"),
            Errors{"prefix part must be no more than 253 characters"});
  EXPECT_EQ(qualified_name_errors("Bad_/-x"),
            (Errors{"prefix part " + kSubdomainRegex, kNamePartRegex}));
}

TEST(PodNames, QualifiedNameWithTwoSlashesGetsTheWholeFormat) {
  const std::string message =
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
      "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
      "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. "
      "'example.com/MyName')";
  EXPECT_EQ(qualified_name_errors("a/b/c"), Errors{message});
  EXPECT_EQ(qualified_name_errors("//"), Errors{message});
}

TEST(PodNames, LabelValuesMayBeEmpty) {
  for (const std::string value : {"", "a", "A", "1", "MyValue", "my_value", "12345", "v1.2.3", "a-b_c.d"}) {
    EXPECT_EQ(label_value_errors(value), Errors{}) << value;
  }
  EXPECT_EQ(label_value_errors(std::string(63, 'v')), Errors{});
  for (const std::string value : {"-", "_a", "a.", "a b", "a/b", "a=b", "é", "a:b"}) {
    EXPECT_EQ(label_value_errors(value), Errors{kLabelValueRegex}) << value;
  }
  EXPECT_EQ(label_value_errors(std::string(64, 'v')), Errors{"must be no more than 63 characters"});
  EXPECT_EQ(label_value_errors(std::string(64, '-')), (Errors{"must be no more than 63 characters", kLabelValueRegex}));
}

TEST(PodNames, EnvVarNames) {
  for (const std::string name :
       {"A", "a", "_", "-", "PATH", "my.env-name", "MY_ENV.NAME", "MyEnvName1", "_1", "a..b", ".a", "-1", "a.."}) {
    EXPECT_EQ(env_var_name_errors(name), Errors{}) << name;
  }
  for (const std::string name : {"", "1", "1A", "A B", "A=B", "A$", "ä"}) {
    EXPECT_EQ(env_var_name_errors(name), Errors{kEnvVarRegex}) << name;
  }
  // The names that would be "." or ".." as files: valid by the pattern, refused all the same.
  EXPECT_EQ(env_var_name_errors("."), Errors{"must not be '.'"});
  EXPECT_EQ(env_var_name_errors(".."), Errors{"must not be '..'"});
  EXPECT_EQ(env_var_name_errors("..a"), Errors{"must not start with '..'"});
  EXPECT_EQ(env_var_name_errors("..="), (Errors{kEnvVarRegex, "must not start with '..'"}));
}

TEST(PodNames, PortNamesAreIanaServiceNames) {
  for (const std::string name : {"http", "h", "http-alt", "h2c", "8080a", "a8080", "web-1-2", "abcdefghijklmno"}) {
    EXPECT_EQ(port_name_errors(name), Errors{}) << name;
  }
  EXPECT_EQ(port_name_errors("abcdefghijklmnop"), Errors{"must be no more than 15 characters"});
  EXPECT_EQ(port_name_errors("HTTP"), (Errors{"must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
                                              "must contain at least one letter (a-z)"}));
  EXPECT_EQ(port_name_errors("http_2"),
            Errors{"must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"});
  EXPECT_EQ(port_name_errors("8080"), Errors{"must contain at least one letter (a-z)"});
  EXPECT_EQ(port_name_errors("a--b"), Errors{"must not contain consecutive hyphens"});
  EXPECT_EQ(port_name_errors("-http"), Errors{"must not begin or end with a hyphen"});
  EXPECT_EQ(port_name_errors("http-"), Errors{"must not begin or end with a hyphen"});
  // Every rule that fails is reported, in Kubernetes' order.
  EXPECT_EQ(port_name_errors(""), (Errors{"must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
                                          "must contain at least one letter (a-z)"}));
  EXPECT_EQ(port_name_errors("--"), (Errors{"must contain at least one letter (a-z)",
                                            "must not contain consecutive hyphens",
                                            "must not begin or end with a hyphen"}));
  EXPECT_EQ(port_name_errors("-A--b-c-d-e-f-g-"),
            (Errors{"must be no more than 15 characters",
                    "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
                    "must not contain consecutive hyphens", "must not begin or end with a hyphen"}));
}

TEST(PodNames, LongHostileNamesAreLinearWork) {
  // std::regex recursed per character here; the loops take a megabyte at once.
  const std::string long_name(1 << 20, 'a');
  EXPECT_EQ(dns1123_label_errors(long_name), Errors{"must be no more than 63 characters"});
  EXPECT_EQ(dns1123_subdomain_errors(long_name), Errors{"must be no more than 253 characters"});
  EXPECT_EQ(label_value_errors(long_name), Errors{"must be no more than 63 characters"});
  EXPECT_EQ(env_var_name_errors(long_name), Errors{});
  std::string dots;
  for (int i = 0; i < (1 << 18); ++i) dots += "a.";
  EXPECT_EQ(dns1123_subdomain_errors(dots), (Errors{"must be no more than 253 characters", kSubdomainRegex}));
}

}  // namespace
}  // namespace deckhand::pods
