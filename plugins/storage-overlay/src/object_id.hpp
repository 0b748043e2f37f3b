// Ids that name directories in the store (containers, pods): 1 to 128 of
// A-Z a-z 0-9 _ . -, starting with a letter or digit, as runc and
// containerd accept them. Never "." or "..", never a path.
#pragma once

#include <string>

namespace deckhand::storage {

bool valid_object_id(const std::string& id);
// Throws StorageError(invalid): `invalid <what> id "<id>" (expected ...)`.
void require_object_id(const std::string& id, const char* what);

}  // namespace deckhand::storage
