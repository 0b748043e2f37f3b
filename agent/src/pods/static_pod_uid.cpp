// static_pod_uid: the kubelet's static pod UID (pkg/kubelet/config/common.go:
// fnv.New128a over hash.DeepHashObject(pod), then "host:%s" and "file:%s").
// The kubelet hashes Go's printed form of its struct; deckhand hashes the
// pod's canonical JSON, its own stable encoding of the same object. Older
// kubelets used MD5 here; FNV-1a is what the kubelet uses now, and the UID only
// has to be stable and change with the pod, not resist a forger (whoever can
// write the manifest directory can choose any UID anyway).
#include "pods/static_pod_uid.hpp"

#include <array>
#include <cstdint>

#include "pods/pod_parse.hpp"

namespace deckhand::pods {
namespace {

// A 128-bit number as two 64-bit halves, for the FNV arithmetic.
struct U128 {
  uint64_t high;
  uint64_t low;
};

// The 128-bit FNV prime is 2^88 + 0x13b: x * prime = x * 0x13b + (x << 88).
// Mirrors Go's hash/fnv sum128a.Write.
U128 times_fnv_prime(U128 x) {
  constexpr uint64_t kPrimeLow = 0x13b;
  constexpr int kPrimeShift = 24;  // 88 - 64
  // The high word of x.low * 0x13b, without a 128-bit type: split x.low.
  const uint64_t low_lo = (x.low & 0xffffffffULL) * kPrimeLow;
  const uint64_t low_hi = (x.low >> 32) * kPrimeLow;
  const uint64_t mid = (low_lo >> 32) + low_hi;
  const uint64_t carry_into_high = mid >> 32;
  const uint64_t low = (mid << 32) | (low_lo & 0xffffffffULL);
  const uint64_t high = carry_into_high + x.high * kPrimeLow + (x.low << kPrimeShift);
  return {high, low};
}

}  // namespace

std::string fnv1a_128_hex(std::string_view data) {
  U128 hash{0x6c62272e07bb0142ULL, 0x62b821756295c58dULL};  // the 128-bit offset basis
  for (const char c : data) {
    hash.low ^= static_cast<unsigned char>(c);
    hash = times_fnv_prime(hash);
  }
  static constexpr std::array<char, 16> kDigits = {'0', '1', '2', '3', '4', '5', '6', '7',
                                                   '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  std::string out;
  out.reserve(32);
  for (const uint64_t word : {hash.high, hash.low}) {
    for (int shift = 60; shift >= 0; shift -= 4) out.push_back(kDigits[(word >> shift) & 0xf]);
  }
  return out;
}

std::string static_pod_uid(const Pod& pod, const std::string& node_name, const std::string& source) {
  if (!pod.metadata.uid.empty()) return pod.metadata.uid;
  return fnv1a_128_hex(pod_to_json(pod).dump() + "host:" + node_name + "file:" + source);
}

}  // namespace deckhand::pods
