// Internal to core: equality of JSON values as JSON Patch's "test" operation defines it.
#pragma once

#include <boost/json/value.hpp>

namespace reqstore::core
{

// RFC 6902 section 4.6: the same JSON type, numbers by mathematical value across int64, uint64
// and double (1 == 1.0), strings by their bytes, arrays element by element in order, objects member
// by member whatever their order.
bool json_equal(const boost::json::value& a, const boost::json::value& b);

} // namespace reqstore::core
