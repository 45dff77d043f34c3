// The server's side of the write-serialization link seam (write_serialization.hpp): both guards on.
// Alone in its object file, so that the crash test's negative control can link its own instead.
#include <reqstore/core/write_serialization.hpp>

#include <string>

namespace reqstore::core
{

bool serialize_record_writes() noexcept
{
    return true;
}

std::optional<failure> compare_and_swap_refusal(const commit_request& request, const predecessor& stored)
{
    if (stored.version == request.expected.version && stored.tag == request.expected.tag &&
        request.next.version == request.expected.version + 1)
        return std::nullopt;
    if (stored.version == request.expected.version && stored.tag != request.expected.tag)
        return failure(errc::precondition_failed,
                       "record " + request.id + " is at version " + std::to_string(stored.version) +
                           ", but not the one this write was judged against (another write committed it)");
    return failure(errc::precondition_failed, "record " + request.id + " is at version " +
                                                  std::to_string(stored.version) + ", not " +
                                                  std::to_string(request.expected.version));
}

} // namespace reqstore::core
