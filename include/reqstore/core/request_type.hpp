// Request types as declared in config (`types.<name>`): id format, states and transitions,
// attributes and their rules, state requirements, timestamps and scheduled expiry. A type is data:
// every seed API's rules are written as one (docs/CONFIG.md).
#pragma once

#include <reqstore/core/ids.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace reqstore::core
{

// The JSON shape an attribute's value must have (API.md section 4).
enum class value_kind
{
    string,
    integer,
    number,
    boolean,
    object,
    array,
    datetime, // an RFC 3339 date-time string
    email,    // a string shaped like local@domain.tld
    url,      // an absolute http or https URL
    uuid,     // 8-4-4-4-12 hexadecimal digits
    enum_,    // one of `enum_values`
};

struct attribute_spec
{
    std::string name;
    value_kind kind = value_kind::string;
    bool required = false;                 // present and not null, from creation on
    std::vector<std::string> enum_values;  // allowed values (kind enum_, or a string limited to them)
    std::optional<std::size_t> max_length; // strings: characters (code points)
    std::optional<double> min;             // numbers: inclusive bounds
    std::optional<double> max;
    std::optional<boost::json::value> default_value;    // set at creation when the attribute is absent
    std::optional<std::vector<std::string>> mutable_in; // the states in which a write may change it
    bool read_only = false; // may be given at creation; no later write may change it
};

// A state entered by the server itself once the time held in `attribute` has passed.
struct expiry_rule
{
    std::string attribute;
    std::string state;
};

// One attachment slot of a data-subject request type.
struct attachment_spec
{
    std::string name;
    bool required = false; // at least one file, to enter a state whose `requires` lists "attachments"
    std::vector<std::string> content_types; // the media types a file may have; empty: any
    std::optional<std::size_t> max_bytes;   // the size of one file, decoded
};

// A data-subject request type (`types.<name>.dsr_types.<typeId>`), chosen by a record's `type_id`:
// the fields of its `data` object and the attachment slots of its `attachments` object. A field's
// `required` means required to enter a state whose `requires` lists "data".
struct dsr_type
{
    std::string name;
    std::vector<attribute_spec> data;
    std::vector<attachment_spec> attachments;

    const attribute_spec* field(std::string_view field_name) const;
    const attachment_spec* slot(std::string_view slot_name) const;
};

struct request_type
{
    std::string name;
    id_format format = id_format::prefixed;
    std::string id_prefix;
    std::vector<std::string> states; // in declaration order
    std::string initial;
    std::map<std::string, std::vector<std::string>, std::less<>> transitions; // from -> allowed targets
    std::set<std::string, std::less<>> final_states;
    bool additional_attributes = false;     // keep members the type does not declare
    std::optional<bool> require_if_match;   // overrides the global setting when present
    std::vector<attribute_spec> attributes; // in declaration order
    std::map<std::string, std::vector<std::string>, std::less<>>
        requirements;                                     // `requires`: state -> members needed to enter it
    std::optional<std::vector<std::string>> updatable_in; // absent: every non-final state
    std::map<std::string, std::string, std::less<>> timestamps; // state -> attribute set when it is entered
    std::optional<expiry_rule> expires;
    // Empty unless the type declares `dsr_types`; then the type has the attributes type_id (string),
    // data (object) and attachments (object), which these shapes judge.
    std::map<std::string, dsr_type, std::less<>> dsr_types;

    bool has_state(std::string_view state) const;
    bool is_final(std::string_view state) const { return final_states.contains(state); }
    // The states a record in `from` may move to (empty for final states).
    const std::vector<std::string>& allowed_from(std::string_view from) const;
    bool may_move(std::string_view from, std::string_view to) const;
    const attribute_spec* attribute(std::string_view attribute_name) const;
    // Whether attributes may change while the record is in `state` (never in a final state).
    bool updatable_in_state(std::string_view state) const;
    // The DSR type a record's `type_id` names (null when none, or the type has no dsr_types).
    const dsr_type* dsr_type_of(const boost::json::object& record) const;
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
