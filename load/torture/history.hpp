// The operation history reqstore-torture records, written as the JSON Lines that reqstore-check
// reads (load/check): every operation with its invoke and complete times and its outcome, every
// crash and restart, and the final version list of every key.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace reqstore::torture
{

enum class op_kind
{
    create, // PUT with If-None-Match: * (expected version 0)
    cas,    // PUT with If-Match: "<expected>"
    read    // GET
};

enum class op_outcome
{
    ok,     // definite success
    fail,   // definitely not applied (412, 409, other 4xx)
    unknown // no answer, a timeout, a 5xx, or cut by a crash: it may or may not have been applied
};

struct op_record
{
    unsigned process = 0;
    op_kind kind = op_kind::read;
    std::string key;
    std::int64_t invoke = 0;              // ns on the driver's monotonic clock
    std::optional<std::int64_t> complete; // none when no answer came
    op_outcome outcome = op_outcome::unknown;
    std::string write_id;                  // create and cas
    std::uint64_t expected = 0;            // cas
    std::uint64_t version = 0;             // ok write: the version made; ok read: the version read
    std::optional<std::uint64_t> observed; // a failed cas: the version in the 412's ETag
    unsigned status = 0;                   // the HTTP status of an answered operation
    std::string read_write_id;             // ok read: the write id in the body
};

struct version_entry
{
    std::uint64_t version = 0;
    std::string write_id;
};

class history
{
public:
    void add(op_record op) { ops_.push_back(std::move(op)); }
    void crash(std::int64_t at, bool power_loss) { marks_.push_back({ops_.size(), at, true, power_loss}); }
    void restart(std::int64_t at) { marks_.push_back({ops_.size(), at, false, false}); }

    const std::vector<op_record>& ops() const noexcept { return ops_; }
    std::vector<op_record>& ops() noexcept { return ops_; }

    // Writes every operation and mark, in the order recorded, then one "final" line per key of
    // `finals` (each a key and its versions, ascending).
    void write(std::ostream& out,
               const std::vector<std::pair<std::string, std::vector<version_entry>>>& finals) const;

private:
    struct mark
    {
        std::size_t after_ops; // how many ops were recorded before it
        std::int64_t at;
        bool is_crash;
        bool power_loss;
    };
    std::vector<op_record> ops_;
    std::vector<mark> marks_;
};

} // namespace reqstore::torture
