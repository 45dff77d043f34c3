// What a write sent with an Idempotency-Key answered, as the core keeps it with the write itself:
// the transport's own note of how it answers, and the write's outcome. The transport rebuilds the
// answer from it for a repeat of the write, so the core never calls up into the transport.
#pragma once

#include <reqstore/core/record_store.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace reqstore::core
{

// The outcome of a write: the record after it, and whether it created the record or committed a
// version at all (false for a write that changed nothing).
struct write_outcome
{
    std::string id;
    stored_version record; // the current version after the write (unchanged for a no-op)
    bool created = false;
    bool committed = false;
};

struct kept_answer
{
    std::string answer_form; // opaque to the core: how the transport answered (its own words)
    write_outcome outcome;
};

// The bytes kept in idempotency_entry::answer: a JSON object holding the form, the outcome's flags
// and id, and the record version's fields with its body as a string (so its bytes stay exact).
std::string encode_kept_answer(const kept_answer& answer);

// The kept answer in `bytes`, or nullopt when they are not an encode_kept_answer() value (answers
// kept before this format, in the transport's own, decode to nothing here).
std::optional<kept_answer> decode_kept_answer(std::string_view bytes);

} // namespace reqstore::core
