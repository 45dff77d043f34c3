// Request types as declared in config (`types.<name>`): id format, states and transitions.
// The full attribute schema arrives with the type system; this is the part every write needs.
#pragma once

#include <reqstore/core/ids.hpp>

#include <boost/json/object.hpp>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace reqstore::core
{

struct request_type
{
    std::string name;
    id_format format = id_format::prefixed;
    std::string id_prefix;
    std::vector<std::string> states; // in declaration order
    std::string initial;
    std::map<std::string, std::vector<std::string>, std::less<>> transitions; // from -> allowed targets
    std::set<std::string, std::less<>> final_states;
    bool additional_attributes = false;   // keep members the type does not declare
    std::optional<bool> require_if_match; // overrides the global setting when present

    bool has_state(std::string_view state) const;
    bool is_final(std::string_view state) const { return final_states.contains(state); }
    // The states a record in `from` may move to (empty for final states).
    const std::vector<std::string>& allowed_from(std::string_view from) const;
    bool may_move(std::string_view from, std::string_view to) const;
};

// Every declared type, immutable after startup and therefore safe to read from any thread.
class type_registry
{
public:
    type_registry() = default;
    explicit type_registry(std::vector<request_type> types);

    const request_type* find(std::string_view name) const;
    // Whether some declared type accepts `id` as a path id.
    bool any_type_fits(std::string_view id) const;
    const std::vector<request_type>& all() const noexcept { return types_; }

private:
    std::vector<request_type> types_;
};

// Reads `types` from config. On error returns a message that names the exact key, such as
// "types.request.transitions.pending[1]: \"done\" is not a declared state".
std::optional<std::string> parse_types(const boost::json::object& types, std::vector<request_type>& out);

} // namespace reqstore::core
