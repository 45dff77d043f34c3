// The multi-node webhook test's negative control (docs/RELIABILITY.md): the PostgreSQL engine's
// lane-claim link seam (store/pg/lane_claim_sql.hpp) with the fence left out, so that a claim is
// taken from another node while that node's attempt may be under way. Two nodes then attempt one
// (target, record) lane at once, and the test's receiver must see it.
#include <reqstore/store/pg/lane_claim_sql.hpp>

namespace reqstore::store::pg
{

std::string_view lane_claim_replaceable_sql() noexcept
{
    return "true";
}

} // namespace reqstore::store::pg
