// The rules of every configuration key (config_validation.cpp), for load_config (config.cpp): the
// shape check of a document against the defaults, and the reading of the merged document.
#pragma once

#include <reqstore/app/config.hpp>

#include <boost/json/object.hpp>

#include <optional>
#include <string>

namespace reqstore::app
{

// Checks that every key of `config` exists in `defaults` with a value of the same kind (any number
// matches any number), recursively, except inside the open sections (`types`, `auth.keys`), whose
// members are checked by their own parsers. `path` is the dotted key of `config` ("" at the top).
// Returns nullopt when the shape matches, else "<dotted key>: unknown key" or "<dotted key>: must be
// <kind>" for the first key that does not.
std::optional<std::string> check_shape(const boost::json::object& config, const boost::json::object& defaults,
                                       const std::string& path);

// Reads `merged` (the defaults with the config file and the flags patched over them; its shape
// already checked) into `out`, checking each value's range and format. Returns nullopt when every key
// is valid; otherwise "<dotted key>: <what it must be>" for the first that is not, with `out` partly
// written (the caller discards it).
std::optional<std::string> interpret(const boost::json::object& merged, server_config& out);

} // namespace reqstore::app
