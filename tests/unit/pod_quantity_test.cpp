// Kubernetes quantities: what ParseQuantity accepts (apimachinery's
// quantity_test.go cases among them), Value() and MilliValue() rounding up
// away from zero, exact integer arithmetic, and hostile input.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "pods/quantity.hpp"

namespace deckhand::pods {
namespace {

const std::string kFormatWrong =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const std::string kSuffixWrong = "unable to parse quantity's suffix";
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

std::string error_of(const std::string& text) {
  try {
    Quantity::parse(text);
  } catch (const QuantityError& e) {
    return e.what();
  }
  return "";
}

std::string milli_error_of(const std::string& text) {
  const Quantity quantity = Quantity::parse(text);
  try {
    quantity.milli_value();
  } catch (const QuantityError& e) {
    return e.what();
  }
  return "";
}

struct Expected {
  std::string text;
  int64_t value;
  int64_t milli;
};

void expect_values(const std::vector<Expected>& cases) {
  for (const Expected& expected : cases) {
    SCOPED_TRACE(expected.text);
    const Quantity quantity = Quantity::parse(expected.text);
    EXPECT_EQ(quantity.value(), expected.value);
    EXPECT_EQ(quantity.milli_value(), expected.milli);
    EXPECT_EQ(quantity.negative(), expected.value < 0);
    EXPECT_EQ(quantity.text(), expected.text);
  }
}

TEST(PodQuantity, PlainAndDecimalNumbers) {
  expect_values({
      {"0", 0, 0},
      {"1", 1, 1000},
      {"+1", 1, 1000},
      {"-1", -1, -1000},
      {"-0", 0, 0},
      {"+0.000", 0, 0},
      {"007", 7, 7000},
      {"0.5", 1, 500},
      {"0.1", 1, 100},  // exactly 100: no floating point
      {"1.", 1, 1000},  // Kubernetes allows an empty fraction ("1.G" too)
      {".5", 1, 500},
      {"1.000", 1, 1000},
      {"2.25", 3, 2250},
      {"123456789", 123456789, 123456789000},
      {"0.333333333333333333333333", 1, 334},
  });
}

TEST(PodQuantity, DecimalSuffixes) {
  expect_values({
      {"100m", 1, 100},
      {"1500m", 2, 1500},
      {"1000m", 1, 1000},
      {"1m", 1, 1},
      {"0.5m", 1, 1},
      {"1u", 1, 1},
      {"1n", 1, 1},
      {"1000000n", 1, 1},
      {"1k", 1000, 1000000},
      {"1M", 1000000, 1000000000},
      {"1G", 1000000000, 1000000000000},
      {"1T", 1000000000000, 1000000000000000},
      {"1P", 1000000000000000, 1000000000000000000},
      {"1.5k", 1500, 1500000},
      {"2.5M", 2500000, 2500000000},
      {"1.G", 1000000000, 1000000000000},
      {"0.1m", 1, 1},
  });
  const Quantity exa = Quantity::parse("1E");
  EXPECT_EQ(exa.value(), 1000000000000000000);
}

TEST(PodQuantity, BinarySuffixes) {
  expect_values({
      {"1Ki", 1024, 1024000},
      {"128Mi", 134217728, 134217728000},
      {"1Gi", 1073741824, 1073741824000},
      {"1.5Gi", 1610612736, 1610612736000},
      {"0.5Ki", 512, 512000},
      {"0.1Ki", 103, 102400},    // 102.4
      {"0.001Ki", 2, 1024},      // 1.024
      {"0.0001Ki", 1, 103},      // 0.1024
      {"1Ti", 1099511627776, 1099511627776000},
      {"1Pi", 1125899906842624, 1125899906842624000},
      {"-1.5Ki", -1536, -1536000},
  });
  const Quantity exbi = Quantity::parse("1Ei");
  EXPECT_EQ(exbi.value(), 1152921504606846976);
  EXPECT_EQ(Quantity::parse("7Ei").value(), 8070450532247928832);
  EXPECT_EQ(Quantity::parse("7.99999999999999999913Ei").value(), kMax);  // 2^63 - 1 exactly
  EXPECT_EQ(Quantity::parse("0.00000000000000000000000001Ei").value(), 1);
}

TEST(PodQuantity, DecimalExponents) {
  expect_values({
      {"1e3", 1000, 1000000},
      {"1E3", 1000, 1000000},
      {"1e+3", 1000, 1000000},
      {"1e0", 1, 1000},
      {"1e-3", 1, 1},
      {"1.5e2", 150, 150000},
      {"15e-1", 2, 1500},
      {"12e6", 12000000, 12000000000},
      {"1e-9", 1, 1},
      {"1e-12", 1, 1},
      {"0e999999", 0, 0},
      {"0.0e-999999999999", 0, 0},
      {"1e-999999999999", 1, 1},
      {"-1e-999999999999", -1, -1},
      {"1e0000000000000000000000003", 1000, 1000000},
  });
  EXPECT_EQ(Quantity::parse("1e18").value(), 1000000000000000000);
  EXPECT_EQ(Quantity::parse("9.223372036854775807e18").value(), kMax);
}

TEST(PodQuantity, RoundingIsUpAwayFromZeroAsKubernetes) {
  // Value() and MilliValue() round up in magnitude: a pod asking for a
  // little gets at least one unit, and "-1m" is -1 (not 0) as in Kubernetes.
  expect_values({
      {"1m", 1, 1},
      {"0.0001", 1, 1},
      {"0.0011", 1, 2},
      {"999m", 1, 999},
      {"1001m", 2, 1001},
      {"-1m", -1, -1},
      {"-0.0001", -1, -1},
      {"-1001m", -2, -1001},
      {"-1.5", -2, -1500},
      {"-0.1Ki", -103, -102400},
      {"1n", 1, 1},
      {"0.000000000001", 1, 1},  // below a nano: Kubernetes rounds it up to 1n, still 1 milli
  });
}

TEST(PodQuantity, MalformedTextGetsKubernetesMessage) {
  // Kubernetes' scanner never checks for a digit, so it takes ".", "-", "Gi",
  // "m" and "e3" as zero; deckhand wants at least one digit.
  for (const std::string text :
       {"", " ", ".", "-", "+", "+.", "-.", "1.2.3", "1..2", "1Kb", "1 Gi", " 1", "1 ", "1Gi ", "Gi", "m", "e3",
        "1e1.5", "1e5Gi", "--1", "+-1", "1,5", "0x10", "1_000", "1%", "١", "1\n", "1e3e", "1Mi5Mi", "1gi", "1e3m"}) {
    EXPECT_EQ(error_of(text), kFormatWrong) << "'" << text << "'";
  }
  EXPECT_EQ(error_of(std::string("1\0", 2) + "Gi"), kFormatWrong);
  EXPECT_EQ(error_of(std::string("1\0", 2)), kFormatWrong);
}

TEST(PodQuantity, UnknownSuffixGetsKubernetesSuffixMessage) {
  // The scanner takes them; the suffix table does not (ErrSuffix in Kubernetes).
  for (const std::string text : {"1K", "1KK", "1mi", "1e", "1E+", "1e-", "1ee3",
                                 "1Ki3", "1i", "1Mi5", "1ki", "1MM", "1e99999999999999999999",
                                 "1e9223372036854775808", "1uu", "1+", "1-"}) {
    EXPECT_EQ(error_of(text), kSuffixWrong) << text;
  }
}

TEST(PodQuantity, ValuesBeyondInt64AreRefusedNamingTheText) {
  for (const std::string text : {"8Ei", "9223372036854775808", "10E", "1e19", "100000P", "-8Ei", "16Ei",
                                 "9.223372036854775808e18", "1e999999999999", "1e9223372036854775807"}) {
    const std::string error = error_of(text);
    EXPECT_NE(error.find("quantity \"" + text + "\" is too large"), std::string::npos) << text << ": " << error;
  }
  // A long text is cut short in the message.
  const std::string huge = std::string(100, '9');
  EXPECT_EQ(error_of(huge), "quantity \"" + std::string(64, '9') +
                                "...\" is too large: deckhand holds quantities of at most 9223372036854775807 in "
                                "magnitude");
}

TEST(PodQuantity, MillisBeyondInt64ThrowOnlyWhenAskedFor) {
  // "1Ei" of memory is a value; in millis it would be 2^60 x 1000.
  for (const std::string text : {"1Ei", "9223372036854775807", "10P", "9223372036854776", "-1Ei"}) {
    EXPECT_EQ(milli_error_of(text), "quantity \"" + text +
                                        "\" is too large to count in thousandths: at most 9223372036854775.807 fits "
                                        "an int64 of millis");
  }
  EXPECT_EQ(Quantity::parse("9223372036854775").milli_value(), 9223372036854775000);
  EXPECT_EQ(Quantity::parse("9223372036854775.807").milli_value(), kMax);
  EXPECT_EQ(Quantity::parse("-9223372036854775.807").milli_value(), -kMax);
  EXPECT_EQ(milli_error_of("9223372036854775.8071"),
            "quantity \"9223372036854775.8071\" is too large to count in thousandths: at most "
            "9223372036854775.807 fits an int64 of millis");
  EXPECT_EQ(Quantity::parse("10P").value(), 10000000000000000);
}

TEST(PodQuantity, HostileInputIsLinearWork) {
  // Long digit strings and huge exponents: no loop over the exponent, no
  // quadratic step, exact results.
  const std::string zeros(1 << 20, '0');
  EXPECT_EQ(Quantity::parse(zeros + "1").value(), 1);
  EXPECT_EQ(Quantity::parse("0." + zeros + "1").milli_value(), 1);
  EXPECT_EQ(Quantity::parse("0." + zeros + "1Ei").value(), 1);
  EXPECT_EQ(Quantity::parse("1." + zeros + "1Gi").value(), 1073741825);
  EXPECT_EQ(Quantity::parse("1" + zeros + "e-1048576").value(), 1);
  EXPECT_EQ(Quantity::parse("1" + zeros + "e-1048573").milli_value(), 1000000);
  EXPECT_NE(error_of("1" + zeros).find("is too large"), std::string::npos);
  EXPECT_EQ(Quantity::parse("1e-" + std::string(1 << 20, '0') + "1").milli_value(), 100);
  EXPECT_EQ(error_of(std::string(1 << 20, '.')), kFormatWrong);
  EXPECT_EQ(error_of("1" + std::string(1 << 20, 'e')), kSuffixWrong);
}

}  // namespace
}  // namespace deckhand::pods
