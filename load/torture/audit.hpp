// The audit run after every restart of a torture cycle. For every key it reads the record and
// every version not audited yet, and checks the promises of API.md section 2:
// - no acknowledged write lost: every acknowledged write is the version it was acknowledged as;
// - versions gap-free, each traceable to one write (a write not reported failed, with the right
//   expected version) and no write applied twice;
// - no torn body: every version parses, names its key and version, and carries a write id;
// - with merge-patch writes, no lost update: every version is the one before it plus its own
//   write's mark (workload_options::merge_patch), so that no write was applied to a version other
//   than the one it was judged against;
// - no version lower than one a client saw;
// - exactly one change-feed event per version, none for a version that does not exist.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "../load/connection.hpp"
#include "ledger.hpp"

namespace reqstore::torture
{

class audit
{
public:
    // `merge_patch`: the writes were merge patches that each set their writer's mark.
    audit(ledger& book, bool merge_patch) : book_(book), merge_patch_(merge_patch) {}

    // Audits every key of the ledger against the server at `where` with `connections` clients in
    // parallel, then reads the change feed from where the last audit stopped. Violations go to
    // the ledger. Returns how many versions were audited.
    boost::asio::awaitable<std::uint64_t> run(const load::endpoint_info& where, unsigned connections);

    std::uint64_t events_read() const noexcept { return last_sequence_; }
    // When the event of a version was committed (unix ms), or nullopt when it was not read.
    std::optional<std::int64_t> event_time(const std::string& key, std::uint64_t version) const;

private:
    boost::asio::awaitable<void> audit_keys(const load::endpoint_info& where, std::vector<std::string>& queue,
                                            std::uint64_t& audited);
    boost::asio::awaitable<void> audit_key(load::connection& conn, const std::string& key,
                                           std::uint64_t& audited);
    boost::asio::awaitable<void> read_feed(const load::endpoint_info& where);
    void check_acknowledged(const std::string& key, key_state& state, std::uint64_t current);
    void check_marks(const std::string& key, key_state& state, std::uint64_t version,
                     const boost::json::object& body, const op_record& write);

    ledger& book_;
    const bool merge_patch_;
    std::uint64_t last_sequence_ = 0;
    struct event_seen
    {
        unsigned count = 0;
        std::int64_t at = 0; // unix ms
    };
    std::map<std::pair<std::string, std::uint64_t>, event_seen> events_; // by (key, version)
};

} // namespace reqstore::torture
