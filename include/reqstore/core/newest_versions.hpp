// The newest version of the records written or read for writing lately, kept in memory so that a
// write (and a read) need not look it up in the store. Two kinds of entries:
// - queued: a version handed to the store and not yet durable, shown to the record's next writer
//   (pipelining) but never to a reader; never evicted;
// - durable: the record's current version in the store; kept within a byte budget, the least
//   recently used evicted first.
// Every record's writes go through one record_service under the record's lock, so an entry is the
// record's true newest version for as long as it exists, unless other writers share the store (other
// nodes on one database). Durable entries are then only hints: a writer judges against one to spare a
// read, the store's compare-and-swap refuses a commit built on a stale one, and no reader is served
// one.
#pragma once

#include <reqstore/core/pending_commit.hpp>
#include <reqstore/core/record_store.hpp>

#include <boost/unordered/unordered_flat_map.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace reqstore::core
{

class newest_versions
{
public:
    // `budget_bytes` bounds the durable entries (their JSON bodies and keys, roughly); 0 keeps
    // none, so that only queued versions are held. `durable_entries_are_hints`: other writers share
    // the store, so durable entries are never shown to readers (find_durable, remember_read).
    explicit newest_versions(std::size_t budget_bytes, bool durable_entries_are_hints = false)
        : budget_bytes_(budget_bytes), durable_entries_are_hints_(durable_entries_are_hints)
    {
    }

    struct found
    {
        stored_version version;
        std::shared_ptr<pending_commit> queued; // null when the version is durable
    };

    // The newest version of `id`, queued or durable. Thread-safe, as is everything here.
    std::optional<found> find(const std::string& id);

    // The newest durable version of `id`, if held and no newer one is queued; for readers, so
    // never a hint.
    std::optional<stored_version> find_durable(std::string_view id);

    // The record's lock holder is about to hand a new version to the store: the entry goes, so
    // that no reader is served the version it replaces once the store may hold the new one.
    void drop(const std::string& id);

    // `version` was just handed to the store by the record's lock holder (after drop); `durable`
    // completes once it is written.
    void queue(const std::string& id, stored_version version, std::shared_ptr<pending_commit> durable);

    // The commit `durable` ended: the entry becomes durable (ok) or is dropped (its commit failed,
    // so the store still has the version before it). Nothing happens if a newer version replaced
    // the entry meanwhile.
    void settle(const std::string& id, const std::shared_ptr<pending_commit>& durable, bool ok);

    // The record's lock holder read `version` from the store: hold it in place of a durable entry
    // (the store's word is the newest; the entry may be a stale hint), but not of a queued one.
    void remember(const std::string& id, const stored_version& version);

    // For readers, who hold no lock: note changes(), read the store, then offer what was read.
    // It is held only if nothing was queued, settled or dropped since: otherwise the version read
    // may already be older than the store's (a commit written and its entry evicted meanwhile).
    std::uint64_t changes() const;
    void remember_read(const std::string& id, const stored_version& version, std::uint64_t changes_before);

    // Bytes held by durable entries, and how many entries there are in all.
    std::size_t durable_bytes() const;
    std::size_t size() const;

private:
    struct entry
    {
        stored_version version;
        std::shared_ptr<pending_commit> queued;
        std::list<std::string>::iterator in_lru; // valid while durable (queued == nullptr)
        std::size_t bytes = 0;                   // counted while durable
    };
    // Looked up by string_view without building a string.
    struct id_hash
    {
        using is_transparent = void;
        std::size_t operator()(std::string_view id) const noexcept
        {
            return std::hash<std::string_view>{}(id);
        }
    };
    // Open addressing: a lookup reads a group of hash fingerprints and then, most often, the one
    // entry that matches; std::unordered_map walked a bucket's nodes comparing whole ids, a cache
    // miss each, on every read and write.
    using map_type = boost::unordered_flat_map<std::string, entry, id_hash, std::equal_to<>>;

    void hold_durable(const std::string& id, const stored_version& version); // with mutex_ held
    void make_durable(map_type::iterator it);                                // with mutex_ held
    void leave_lru(entry& e);                                                // with mutex_ held
    void evict_over_budget();                                                // with mutex_ held

    const std::size_t budget_bytes_;
    const bool durable_entries_are_hints_;
    mutable std::mutex mutex_; // guards everything below
    map_type entries_;
    std::list<std::string> lru_; // durable entries' ids, most recently used first
    std::size_t durable_bytes_ = 0;
    std::uint64_t changes_ = 0; // queued, settled or dropped entries so far
};

} // namespace reqstore::core
