// The multi-node torture test's negative control (docs/RELIABILITY.md): the PostgreSQL engine's
// compare-and-swap link seam (store/pg/compare_and_swap_sql.hpp) with the tag left out, so that a
// commit is applied whenever the stored version number is the expected one. A write this node judged
// against a version it queued, which then lost to another node's commit of the same number, lands on
// that other version: the other node's update is lost, and the test must see it.
#include <reqstore/store/pg/compare_and_swap_sql.hpp>

namespace reqstore::store::pg
{

std::string_view compare_and_swap_refused_sql() noexcept
{
    return "cur_version <> in_expected_versions[i]";
}

} // namespace reqstore::store::pg
