// The domain failures' exception: what boost::system::result throws when value() is misused.
#include <reqstore/core/errc.hpp>

#include <stdexcept>

namespace reqstore::core
{

void throw_exception_from_error(const failure& f, const boost::source_location&)
{
    // The code by number: its wire name belongs to the http module (http/status_map.hpp), and a
    // misused value() is a bug whose message only the log sees.
    throw std::runtime_error("core::errc " + std::to_string(static_cast<int>(f.code)) + ": " + f.detail);
}

} // namespace reqstore::core
