// The keys a run works on: what the tool knows about each (shared by every connection), how keys
// are chosen (uniform or Zipf), and the key files of --reuse-keys and --save-keys.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace reqstore::load
{

// The last state of a key the tool has seen: the compare-and-swap token (reqstore: the record's
// version, whose ETag is "<version>"; etcd: the key's mod_revision), the counter, and whether the
// record's status is "active" (webhook-fanout flips it).
struct known_value
{
    std::int64_t token = 0;
    std::int64_t counter = 0;
    bool active = false;
    bool valid = false; // false: nothing known yet, read it first
};

// One version as the verification read it from the server.
struct commit
{
    std::int64_t version = 0;
    std::int64_t at_ms = 0; // updated_at, milliseconds since the epoch
};

struct key_state
{
    // Set during setup, constant afterwards.
    std::string name;              // record id, rest id or etcd key
    std::string target;            // reqstore and rest: the request target of the key
    std::string body;              // etcd: the range request's body
    std::int64_t base_counter = 0; // the counter when setup ended
    std::int64_t base_version = 0; // reqstore: the record's version; etcd: the key's version

    // Guarded by the key table's stripe of this key.
    known_value known;
    std::uint64_t acknowledged = 0; // 2xx (or succeeded) updates
    std::uint64_t uncertain = 0;    // updates whose answer never came: they may have committed

    // Filled by the verification (one connection per key, after the run).
    std::vector<commit> commits; // versions above base_version, oldest first (webhook-fanout only)
};

// Every key of the run. The vector is built before the run and never resized during it; each
// key's mutable members are guarded by one of a fixed set of mutexes (RocksDB's Striped).
class key_table
{
public:
    explicit key_table(std::size_t count) : keys_(count) {}

    std::size_t size() const noexcept { return keys_.size(); }
    key_state& operator[](std::size_t i) noexcept { return keys_[i]; }
    const key_state& operator[](std::size_t i) const noexcept { return keys_[i]; }

    known_value known(std::size_t i);
    // Keeps `v` unless what is known already is newer (a higher token).
    void learn(std::size_t i, known_value v);
    // Counts one acknowledged update, which made `after` the newest state.
    void acknowledge(std::size_t i, known_value after);
    // Counts one update whose answer was lost, and forgets what is known (it may be stale now).
    void count_uncertain(std::size_t i);

    // Totals over every key (call when no connection works on the keys any more).
    std::uint64_t total_acknowledged() const;
    std::uint64_t total_uncertain() const;

private:
    std::mutex& stripe(std::size_t i) noexcept { return stripes_[i % stripes_.size()]; }

    std::vector<key_state> keys_;
    std::array<std::mutex, 64> stripes_;
};

// Draws key indices: uniform, or Zipf with exponent s (P(k) proportional to 1 / (k + 1)^s, so key 0
// is the hottest). Constant after construction: any number of threads may draw, each with its own
// generator.
class key_chooser
{
public:
    key_chooser(std::size_t count, std::optional<double> zipf);
    std::size_t next(std::mt19937_64& rng) const;

private:
    std::size_t count_;
    std::vector<double> cdf_; // empty when uniform
};

// The non-empty lines of a file, trimmed; nullopt when it cannot be read.
std::optional<std::vector<std::string>> read_key_file(const std::string& file);
// One key a line; false when the file cannot be written.
bool write_key_file(const std::string& file, const key_table& keys);

} // namespace reqstore::load
