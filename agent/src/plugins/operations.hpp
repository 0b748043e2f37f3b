// The operations of each plugin kind, by name: how the agent finds a function
// in a plugin's ops table, checking that the table is large enough to hold it.
#pragma once

#include <deckhand/plugin.h>

#include <string>
#include <vector>

namespace deckhand {

// "runtime", "network", "storage", or "unknown(N)".
std::string kind_name(int32_t kind);

// Every operation name the kind defines in this ABI version, in table order.
std::vector<std::string> operation_names(int32_t kind);

// The plugin's function for `operation`, or nullptr when the kind has no such
// operation, the table (as the plugin sized it) is too short, or the entry is NULL.
dh_op_fn find_operation(int32_t kind, const void* ops, const std::string& operation);

// True when the kind defines `operation` at all.
bool is_known_operation(int32_t kind, const std::string& operation);

}  // namespace deckhand
