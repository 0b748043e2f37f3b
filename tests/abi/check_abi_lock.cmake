# Fails when sdk/include/deckhand/plugin.h changed without a version bump.
#
# sdk/abi/abi.lock holds one line per released ABI version:
#   <major>.<minor> <sha256 of plugin.h with comments and blank lines removed>
# The test takes the header's DH_ABI_MAJOR/MINOR, normalises the header the
# same way and requires that exact pair in the lock. Changing the header
# therefore means bumping the version (minor for appends, major for breaks)
# and adding a line; an old line never changes (Envoy's header-hash idea).
file(READ "${HEADER}" text)
string(REGEX MATCH "#define DH_ABI_MAJOR ([0-9]+)" _ "${text}")
set(major "${CMAKE_MATCH_1}")
string(REGEX MATCH "#define DH_ABI_MINOR ([0-9]+)" _ "${text}")
set(minor "${CMAKE_MATCH_1}")
# Normalise: strip /* */ and // comments, trailing blanks and empty lines, so a
# comment-only edit does not demand a new version.
string(REGEX REPLACE "/\\*([^*]|\\*+[^*/])*\\*+/" "" text "${text}")
string(REGEX REPLACE "//[^\n]*" "" text "${text}")
string(REGEX REPLACE "[ \t]+\n" "\n" text "${text}")
string(REGEX REPLACE "\n+" "\n" text "${text}")
if(MUTATE)  # the self-test: any change to the declarations must be caught
  string(APPEND text "int32_t dh_an_added_member;\n")
endif()
string(SHA256 digest "${text}")
set(expected "${major}.${minor} ${digest}")
file(STRINGS "${LOCK}" lines REGEX "^[0-9]+\\.[0-9]+ [0-9a-f]+$")
foreach(line IN LISTS lines)
  if(line STREQUAL expected)
    message(STATUS "ABI ${major}.${minor} matches its lock entry")
    return()
  endif()
  string(REGEX MATCH "^${major}\\.${minor} " same_version "${line}")
  if(same_version)
    message(FATAL_ERROR "plugin.h changed but DH_ABI_MAJOR.MINOR is still ${major}.${minor}: "
      "bump DH_ABI_MINOR (appends) or DH_ABI_MAJOR (breaking changes) and add this line to ${LOCK}:\n${expected}")
  endif()
endforeach()
message(FATAL_ERROR "ABI ${major}.${minor} has no entry in ${LOCK}; if this is a new version, add:\n${expected}")
