// The server's side of the lane-claim link seam (lane_claim_sql.hpp): a claim is replaced only once
// its lease ran out on the database's clock. Alone in its object file, so that a control build that
// defines lane_claim_replaceable_sql() itself never links this one from the static library.
#include <reqstore/store/pg/lane_claim_sql.hpp>

namespace reqstore::store::pg
{

std::string_view lane_claim_replaceable_sql() noexcept
{
    // The lease is longer than an attempt may last (webhooks.timeout), so that a live claim means
    // an attempt may still be under way.
    return "l.until < now()";
}

} // namespace reqstore::store::pg
