// When a claim on a webhook delivery lane may be replaced by another (pg_coordination.cpp) is
// reached through a link seam, like the compare-and-swap (compare_and_swap_sql.hpp): a program
// defines the function below exactly once. The server's definition (src/store/pg/lane_claim_sql.cpp,
// alone in its object file) lets a claim be replaced only once it expired; the negative control of
// the multi-node webhook test (tests/control/lanes_unfenced.cpp, docs/RELIABILITY.md) links one that
// always does, so that the test can show two nodes attempting one lane at once. No production
// source holds a switch for the test.
#pragma once

#include <string_view>

namespace reqstore::store::pg
{

// An SQL boolean expression over the claim row `l` of table lanes (columns lane, holder, until,
// epoch): true when a new claim may take the lane from it.
std::string_view lane_claim_replaceable_sql() noexcept;

} // namespace reqstore::store::pg
