// The two guards that keep the writes to one record apart: in this process, the record's lock
// (record_locks.hpp); in the engine, the compare-and-swap on the exact predecessor a write was
// judged against. Both are reached through a link seam: a program defines the two functions below
// exactly once. The server's definitions (src/core/write_serialization.cpp, the only thing in its
// object file) keep both guards on; the negative control of the crash test
// (tests/control/no_write_serialization.cpp, docs/RELIABILITY.md) links definitions that turn both
// off, so that the test can show the writes that are then lost. No production source holds a
// switch for the test.
#pragma once

#include <reqstore/core/errc.hpp>
#include <reqstore/core/record_store.hpp>

#include <optional>

namespace reqstore::core
{

// Whether record_locks makes the writes to one record wait for each other.
bool serialize_record_writes() noexcept;

// An engine's compare-and-swap: the refusal of `request` (errc::precondition_failed, naming both
// versions) when the record's stored version `stored` is not exactly request.expected, or
// request.next.version is not request.expected.version + 1; nullopt when the commit may be applied.
// Every engine that checks the predecessor in process calls this; one that checks it elsewhere (in
// SQL) implements the same rule there.
[[nodiscard]] std::optional<failure> compare_and_swap_refusal(const commit_request& request,
                                                              const predecessor& stored);

} // namespace reqstore::core
