// The crash test's negative control (docs/RELIABILITY.md): the write-serialization link seam
// (core/write_serialization.hpp) with both guards off. Writes to one record no longer wait for each
// other, and every engine commit is applied whatever the record's stored version: two writes judged
// against the same version are then both acknowledged, and the test must see one of them lost.
#include <reqstore/core/write_serialization.hpp>

namespace reqstore::core
{

bool serialize_record_writes() noexcept
{
    return false;
}

std::optional<failure> compare_and_swap_refusal(const commit_request&, const predecessor&)
{
    return std::nullopt;
}

} // namespace reqstore::core
