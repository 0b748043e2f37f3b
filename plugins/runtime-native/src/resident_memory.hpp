// Keeping a long-lived monitor small: what it no longer needs after setup.
#pragma once

namespace deckhand::runtime {

// Drops this process's mappings of its own program's code and read-only data
// (their pages stay in the page cache, shared by every monitor) and returns
// free heap to the kernel. A monitor touches most of its 2 MiB of code while
// it sets a container up, and a few pages of it while it waits; afterwards
// its resident set is what waiting needs (the kernel maps the pages around a
// faulting one too, 64 KiB blocks, so a few hundred KiB). Only mappings
// without anonymous (copied-on-write) pages are dropped, so no relocated or
// written data is ever lost. Best effort: errors are ignored.
void release_setup_memory();

}  // namespace deckhand::runtime
