// The PostgreSQL engine's compare-and-swap, which it checks in SQL (rs_commit, src/store/pg/
// pg_schema.cpp) rather than with core::compare_and_swap_refusal (core/write_serialization.hpp), is
// reached through a link seam: a program defines the function below exactly once. The server's
// definition (src/store/pg/compare_and_swap_sql.cpp, the only thing in its object file) is the
// core's rule; the negative control of the multi-node torture test (tests/control/
// cas_version_only.cpp, docs/RELIABILITY.md) links one that compares the version number alone, so
// that the test can show the cross-node lost updates that then happen. No production source holds a
// switch for the test.
#pragma once

#include <string_view>

namespace reqstore::store::pg
{

// A PL/pgSQL boolean expression, true when entry `i` of a commit batch must be refused: the record's
// stored (cur_version, cur_tag) is not exactly the predecessor the write was judged against
// (in_expected_versions[i], in_expected_tags[i]). It is written into the schema when the schema is
// created (migration 1), so it holds for every node that later uses that schema.
std::string_view compare_and_swap_refused_sql() noexcept;

} // namespace reqstore::store::pg
