# deckhand_add_plugin(<target> <sources>...)
#
# Builds a deckhand plugin as a MODULE library with the SDK's symbol hygiene:
# hidden visibility, a version script exporting only deckhand_plugin_entry,
# --exclude-libs,ALL so static dependencies stay private, -z defs so a missing
# symbol fails the link instead of the agent's dlopen, and full RELRO.
# DECKHAND_PLUGIN_VERSION_SCRIPT must be set (the package config and the
# in-tree build both set it). Set DECKHAND_PLUGIN_ALLOW_UNDEFINED for sanitizer
# builds, whose runtime symbols are resolved from the executable.
function(deckhand_add_plugin target)
  add_library(${target} MODULE ${ARGN})
  target_link_libraries(${target} PRIVATE Deckhand::sdk)
  target_compile_features(${target} PRIVATE cxx_std_20)
  set_target_properties(${target} PROPERTIES
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LINK_DEPENDS "${DECKHAND_PLUGIN_VERSION_SCRIPT}")
  target_link_options(${target} PRIVATE
    "LINKER:--version-script=${DECKHAND_PLUGIN_VERSION_SCRIPT}"
    "LINKER:--exclude-libs,ALL"
    "LINKER:-z,now"
    "LINKER:-z,relro")
  if(NOT DECKHAND_PLUGIN_ALLOW_UNDEFINED)
    target_link_options(${target} PRIVATE "LINKER:-z,defs")
  endif()
endfunction()
