// The server's side of the PostgreSQL compare-and-swap link seam (compare_and_swap_sql.hpp): the
// version and the tag both. Alone in its object file, so that a control build that defines
// compare_and_swap_refused_sql() itself never links this one from the static library.
#include <reqstore/store/pg/compare_and_swap_sql.hpp>

namespace reqstore::store::pg
{

std::string_view compare_and_swap_refused_sql() noexcept
{
    // The tag tells apart two commits of one version number: another node's, and the one this node
    // queued and then lost to it, which the next write here may have been judged against.
    return "cur_version <> in_expected_versions[i] OR cur_tag <> in_expected_tags[i]";
}

} // namespace reqstore::store::pg
