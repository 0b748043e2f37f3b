// How the unpacker words its errors: each names the layer entry (quoted and
// escaped, since names are attacker-chosen bytes that end up in logs) and
// the reason, so a user can tell which content of which layer is hostile or
// broken.
#pragma once

#include <string>
#include <string_view>

namespace deckhand::storage {

// "\"etc/passwd\"", with control and non-ASCII bytes as \xNN and very long
// names cut, so a name cannot forge log lines or flood them.
std::string quote_entry_name(std::string_view name);

// StorageError(corrupt): `layer entry "<name>" refused: <reason>`.
[[noreturn]] void refuse_entry(std::string_view name, const std::string& reason);

// A system call on the entry failed with `error` (an errno value): no space
// or quota is StorageError(exhausted); a name the filesystem cannot hold or
// too many links to one file is (corrupt); anything else is (internal).
// `action` is a verb phrase such as "create the directory".
[[noreturn]] void fail_entry_syscall(std::string_view name, const std::string& action, int error);

}  // namespace deckhand::storage
