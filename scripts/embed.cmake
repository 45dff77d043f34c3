# Writes OUTPUT, a C++ source that defines FUNCTION (declared in HEADER, returning std::string_view)
# to return the bytes of INPUT exactly: how the binary carries docs/openapi.json (and any other file
# it serves as it is in the repository). Run by the build: cmake -DINPUT=... -DOUTPUT=... -DHEADER=...
# -DFUNCTION=... -P scripts/embed.cmake
foreach(required INPUT OUTPUT HEADER FUNCTION)
    if(NOT DEFINED ${required})
        message(FATAL_ERROR "embed.cmake: ${required} is not set")
    endif()
endforeach()
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
get_filename_component(name "${INPUT}" NAME)
file(WRITE "${OUTPUT}.tmp" "// Generated from ${name} by scripts/embed.cmake: do not edit.
#include <${HEADER}>

namespace
{
const unsigned char bytes[${size} + 1] = {
${bytes}0};
} // namespace

std::string_view ${FUNCTION}() noexcept
{
    return {reinterpret_cast<const char*>(bytes), ${size}};
}
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
