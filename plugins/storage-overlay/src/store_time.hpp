// Time stamps of image records: RFC 3339 in UTC with nanoseconds
// ("2025-01-31T09:26:01.123456789Z"), the form CRI and OCI use, so that they
// sort as text in time order (for years 0000-9999).
#pragma once

#include <ctime>
#include <string>

namespace deckhand::storage {

std::string format_rfc3339(const timespec& time);
std::string rfc3339_now();  // CLOCK_REALTIME

}  // namespace deckhand::storage
