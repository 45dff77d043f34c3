// The OpenAPI 3.1 document of the native API (contract section 15): docs/openapi.json, embedded in the
// binary at build time (scripts/embed.cmake) and served byte for byte at GET /openapi.json.
#pragma once

#include <string_view>

namespace reqstore::api
{

// The bytes of docs/openapi.json as the binary was built with it. Static storage.
std::string_view openapi_document() noexcept;

} // namespace reqstore::api
