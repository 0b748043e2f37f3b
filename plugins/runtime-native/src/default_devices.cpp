#include "default_devices.hpp"

namespace deckhand::runtime {

Resources resources_with_default_devices(const Spec& spec) {
  Resources resources = spec.resources;
  if (resources.devices.empty()) {
    resources.devices.push_back(DeviceRule{false, 'a', std::nullopt, std::nullopt, "rwm"});
  }
  auto allow = [&](char type, int64_t major, std::optional<int64_t> minor) {
    resources.devices.push_back(DeviceRule{true, type, major, minor, "rwm"});
  };
  for (const DefaultDevice& device : kDefaultDevices) allow('c', device.major, device.minor);
  allow('c', 5, 2);               // ptmx
  allow('c', 136, std::nullopt);  // /dev/pts/*
  for (const auto& device : spec.devices) {
    if (device.type == 'c' || device.type == 'b' || device.type == 'u') {
      allow(device.type == 'b' ? 'b' : 'c', device.major, device.minor);
    }
  }
  return resources;
}

}  // namespace deckhand::runtime
