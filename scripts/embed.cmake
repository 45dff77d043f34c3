# Writes OUTPUT, a C++ source that carries files in the binary exactly as they are in the repository.
# Run by the build (cmake -D... -P scripts/embed.cmake) in one of two ways:
#   -DINPUT=FILE -DOUTPUT=... -DHEADER=... -DFUNCTION=...
#       FUNCTION (declared in HEADER) returns the bytes of FILE as a std::string_view
#       (docs/openapi.json);
#   -DDIRECTORY=DIR -DOUTPUT=... -DHEADER=... -DFUNCTION=...
#       FUNCTION returns a std::span of reqstore::api::embedded_file (HEADER), one per file under
#       DIR, sorted by path, with its SHA-256 (console/dist).
foreach(required OUTPUT HEADER FUNCTION)
    if(NOT DEFINED ${required})
        message(FATAL_ERROR "embed.cmake: ${required} is not set")
    endif()
endforeach()
if((DEFINED INPUT AND DEFINED DIRECTORY) OR (NOT DEFINED INPUT AND NOT DEFINED DIRECTORY))
    message(FATAL_ERROR "embed.cmake: set either INPUT or DIRECTORY")
endif()

# Sets ${out_array} to the definition of a NUL-terminated array `name` holding FILE's bytes, and
# ${out_size} to their number.
function(array_of file name out_array out_size)
    file(READ "${file}" hex HEX)
    string(LENGTH "${hex}" hex_length)
    math(EXPR size "${hex_length} / 2")
    string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
    string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n"
        bytes "${bytes}")
    set(${out_array} "const unsigned char ${name}[${size} + 1] = {\n${bytes}0};\n" PARENT_SCOPE)
    set(${out_size} ${size} PARENT_SCOPE)
endfunction()

if(DEFINED INPUT)
    get_filename_component(name "${INPUT}" NAME)
    array_of("${INPUT}" bytes array size)
    set(text "// Generated from ${name} by scripts/embed.cmake: do not edit.
#include <${HEADER}>

namespace
{
${array}} // namespace

std::string_view ${FUNCTION}() noexcept
{
    return {reinterpret_cast<const char*>(bytes), ${size}};
}
")
else()
    file(GLOB_RECURSE files RELATIVE "${DIRECTORY}" "${DIRECTORY}/*")
    list(SORT files)
    if(NOT files)
        message(FATAL_ERROR "embed.cmake: ${DIRECTORY} holds no file")
    endif()
    set(arrays "")
    set(entries "")
    set(index 0)
    foreach(relative IN LISTS files)
        array_of("${DIRECTORY}/${relative}" "file_${index}" array size)
        file(SHA256 "${DIRECTORY}/${relative}" digest)
        string(APPEND arrays "// ${relative}\n${array}")
        string(APPEND entries "    {\"${relative}\", {reinterpret_cast<const char*>(file_${index}), ${size}}, \"${digest}\"},\n")
        math(EXPR index "${index} + 1")
    endforeach()
    get_filename_component(name "${DIRECTORY}" NAME)
    set(text "// Generated from the files of ${name}/ by scripts/embed.cmake: do not edit.
#include <${HEADER}>

namespace
{
${arrays}
const reqstore::api::embedded_file files[] = {
${entries}};
} // namespace

std::span<const reqstore::api::embedded_file> ${FUNCTION}() noexcept
{
    return files;
}
")
endif()
file(WRITE "${OUTPUT}.tmp" "${text}")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
