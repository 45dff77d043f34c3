// Reading a history from JSON Lines, and the small shared vocabulary of the checkers.
#include "history.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cstring>
#include <functional>
#include <istream>
#include <limits>
#include <sstream>

namespace reqstore::check
{

// ---- string_table ----------------------------------------------------------------------------

namespace
{
constexpr std::size_t chunk_bytes = 1 << 20;
} // namespace

std::size_t string_table::slot_of(std::string_view text) const
{
    const std::size_t mask = slots_.size() - 1;
    std::size_t slot = std::hash<std::string_view>{}(text)&mask;
    while (slots_[slot] != none && views_[slots_[slot]] != text)
        slot = (slot + 1) & mask;
    return slot;
}

std::uint32_t string_table::find(std::string_view text) const
{
    if (slots_.empty())
        return none;
    return slots_[slot_of(text)];
}

std::uint32_t string_table::intern(std::string_view text)
{
    // Keep the load at most one half, so that probes stay short.
    if ((views_.size() + 1) * 2 > slots_.size())
        rehash(std::max<std::size_t>(64, slots_.size() * 2));
    const std::size_t slot = slot_of(text);
    if (slots_[slot] != none)
        return slots_[slot];
    const auto id = static_cast<std::uint32_t>(views_.size());
    views_.push_back(copy_in(text));
    slots_[slot] = id;
    return id;
}

std::string_view string_table::copy_in(std::string_view text)
{
    if (text.size() > chunk_left_)
    {
        const std::size_t size = std::max(chunk_bytes, text.size());
        chunks_.push_back(std::make_unique<char[]>(size));
        chunk_next_ = chunks_.back().get();
        chunk_left_ = size;
    }
    char* at = chunk_next_;
    if (!text.empty())
        std::memcpy(at, text.data(), text.size());
    chunk_next_ += text.size();
    chunk_left_ -= text.size();
    return {at, text.size()};
}

void string_table::rehash(std::size_t slot_count)
{
    slots_.assign(slot_count, none);
    const std::size_t mask = slot_count - 1;
    for (std::uint32_t id = 0; id < views_.size(); ++id)
    {
        std::size_t slot = std::hash<std::string_view>{}(views_[id]) & mask;
        while (slots_[slot] != none)
            slot = (slot + 1) & mask;
        slots_[slot] = id;
    }
}

// ---- names -----------------------------------------------------------------------------------

std::string_view name_of(op_function f)
{
    switch (f)
    {
    case op_function::create:
        return "create";
    case op_function::cas:
        return "cas";
    case op_function::read:
        return "read";
    }
    return "?";
}

std::string_view name_of(op_outcome o)
{
    switch (o)
    {
    case op_outcome::ok:
        return "ok";
    case op_outcome::fail:
        return "fail";
    case op_outcome::unknown:
        return "unknown";
    }
    return "?";
}

std::string_view name_of(violation_kind kind)
{
    switch (kind)
    {
    case violation_kind::lost_write:
        return "lost-write";
    case violation_kind::lost_update:
        return "lost-update";
    case violation_kind::stale_read:
        return "stale-read";
    case violation_kind::regression:
        return "regression";
    case violation_kind::gap:
        return "gap";
    case violation_kind::duplicate:
        return "duplicate";
    case violation_kind::phantom:
        return "phantom";
    case violation_kind::torn_read:
        return "torn-read";
    case violation_kind::future_read:
        return "future-read";
    case violation_kind::not_linearizable:
        return "not-linearizable";
    }
    return "?";
}

void sort_by_line(std::vector<violation>& violations)
{
    const auto first_line = [](const violation& v)
    {
        return v.lines.empty() ? std::numeric_limits<std::uint32_t>::max() : v.lines.front();
    };
    std::stable_sort(violations.begin(), violations.end(),
                     [&](const violation& a, const violation& b) { return first_line(a) < first_line(b); });
}

std::string describe(const history& h, const operation& op)
{
    std::string out(name_of(op.f));
    switch (op.f)
    {
    case op_function::read:
        if (op.outcome == op_outcome::ok)
        {
            out += " -> " + std::to_string(op.version);
            if (op.read_write_id != string_table::none)
                out += " (" + std::string(h.write_ids.text(op.read_write_id)) + ")";
        }
        else
            out += " " + std::string(name_of(op.outcome));
        return out;
    case op_function::cas:
        out += " " + std::to_string(op.expected) + "->";
        break;
    case op_function::create:
        out += " ->";
        break;
    }
    if (op.outcome == op_outcome::ok)
        out += std::to_string(op.version) + " ok";
    else if (op.outcome == op_outcome::fail)
    {
        out += "? fail";
        if (op.has_observed)
            out += " (observed " + std::to_string(op.observed) + ")";
    }
    else
        out += "? unknown";
    if (op.write_id != string_table::none)
        out += " [" + std::string(h.write_ids.text(op.write_id)) + "]";
    return out;
}

operations_by_key::operations_by_key(const history& h) : first_(h.keys.size() + 1, 0), by_key_(h.ops.size())
{
    for (const operation& op : h.ops)
        ++first_[op.key + 1];
    for (std::size_t k = 0; k < h.keys.size(); ++k)
        first_[k + 1] += first_[k];
    std::vector<std::uint32_t> next(first_.begin(), first_.end() - 1);
    for (std::uint32_t i = 0; i < h.ops.size(); ++i)
        by_key_[next[h.ops[i].key]++] = i;
}

std::int64_t first_crash_at_or_after(const history& h, std::int64_t invoke)
{
    const auto it = std::lower_bound(h.crashes.begin(), h.crashes.end(), invoke,
                                     [](const crash_event& c, std::int64_t t) { return c.at < t; });
    return it == h.crashes.end() ? std::numeric_limits<std::int64_t>::max() : it->at;
}

// ---- reading ---------------------------------------------------------------------------------

namespace
{

namespace json = boost::json;

// Thrown inside the reader only; read_history turns it into a history_error value.
struct bad_line
{
    std::string message;
};

const json::value* field(const json::object& line, std::string_view name)
{
    return line.if_contains(name);
}

bool absent_or_null(const json::value* v)
{
    return v == nullptr || v->is_null();
}

std::int64_t require_int(const json::object& line, std::string_view name)
{
    const json::value* v = field(line, name);
    if (v == nullptr)
        throw bad_line{"missing \"" + std::string(name) + "\""};
    if (v->is_int64())
        return v->get_int64();
    if (v->is_uint64() &&
        v->get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return static_cast<std::int64_t>(v->get_uint64());
    throw bad_line{"\"" + std::string(name) + "\" must be an integer"};
}

std::uint64_t require_version(const json::object& line, std::string_view name)
{
    const std::int64_t v = require_int(line, name);
    if (v < 0)
        throw bad_line{"\"" + std::string(name) + "\" must not be negative"};
    return static_cast<std::uint64_t>(v);
}

std::string_view require_string(const json::object& line, std::string_view name)
{
    const json::value* v = field(line, name);
    if (v == nullptr)
        throw bad_line{"missing \"" + std::string(name) + "\""};
    if (!v->is_string())
        throw bad_line{"\"" + std::string(name) + "\" must be a string"};
    return v->get_string();
}

std::string_view require_write_id(const json::object& line, std::string_view name)
{
    const std::string_view id = require_string(line, name);
    if (id.empty())
        throw bad_line{"\"" + std::string(name) + "\" must not be empty"};
    return id;
}

class reader
{
public:
    explicit reader(history& out) : out_(out) {}

    void read_line(std::string_view text)
    {
        if (text.find_first_not_of(" \t\r") == std::string_view::npos)
            return;
        // A line's values live in a stack buffer that is dropped with it: no allocation per field.
        json::monotonic_resource memory(buffer_, sizeof buffer_);
        boost::system::error_code ec;
        const json::value value = json::parse(text, ec, &memory, parse_options());
        if (ec)
            throw bad_line{"not JSON: " + ec.message()};
        if (!value.is_object())
            throw bad_line{"not a JSON object"};
        const json::object& line = value.get_object();
        const std::string_view type = require_string(line, "type");
        if (type == "op")
            read_op(line);
        else if (type == "crash")
            read_crash(line);
        else if (type == "restart")
            out_.restarts.push_back(require_int(line, "at"));
        else if (type == "final")
            read_final(line);
        else
            ++out_.ignored_lines;
    }

    void finish()
    {
        std::stable_sort(out_.crashes.begin(), out_.crashes.end(),
                         [](const crash_event& a, const crash_event& b) { return a.at < b.at; });
        out_.finals.resize(out_.keys.size());
        for (const operation& op : out_.ops)
            if (!out_.finals[op.key].present)
                throw history_error{op.line, "key \"" + std::string(out_.key_name(op.key)) +
                                                 "\" has operations but no \"final\" line"};
    }

    std::uint32_t line_number = 0;

private:
    static json::parse_options parse_options()
    {
        json::parse_options options;
        options.max_depth = 8;
        return options;
    }

    std::uint32_t key_of(const json::object& line)
    {
        const std::uint32_t key = out_.keys.intern(require_string(line, "key"));
        if (out_.finals.size() <= key)
            out_.finals.resize(key + 1);
        return key;
    }

    void read_op(const json::object& line)
    {
        operation op;
        op.line = line_number;
        op.process = require_int(line, "process");
        const std::string_view f = require_string(line, "f");
        if (f == "create")
            op.f = op_function::create;
        else if (f == "cas")
            op.f = op_function::cas;
        else if (f == "read")
            op.f = op_function::read;
        else
            throw bad_line{"unknown \"f\" \"" + std::string(f) + "\" (create, cas or read)"};
        op.key = key_of(line);

        const std::string_view outcome = require_string(line, "outcome");
        if (outcome == "ok")
            op.outcome = op_outcome::ok;
        else if (outcome == "fail")
            op.outcome = op_outcome::fail;
        else if (outcome == "unknown")
            op.outcome = op_outcome::unknown;
        else
            throw bad_line{"unknown \"outcome\" \"" + std::string(outcome) + "\" (ok, fail or unknown)"};

        op.invoke = require_int(line, "invoke");
        if (!absent_or_null(field(line, "complete")))
        {
            op.complete = require_int(line, "complete");
            op.has_complete = true;
            if (op.complete < op.invoke)
                throw bad_line{"\"complete\" is before \"invoke\""};
        }
        else if (op.outcome != op_outcome::unknown)
            throw bad_line{"an operation with outcome \"" + std::string(outcome) + "\" needs \"complete\""};

        if (op.is_write())
        {
            op.write_id = out_.write_ids.intern(require_write_id(line, "write_id"));
            if (op.f == op_function::cas)
                op.expected = require_version(line, "expected");
            if (op.outcome == op_outcome::ok)
            {
                op.version = require_version(line, "version");
                if (op.version == 0)
                    throw bad_line{"a successful write reports a version of at least 1"};
            }
            if (op.outcome == op_outcome::fail)
            {
                if (!absent_or_null(field(line, "status")))
                {
                    const std::int64_t status = require_int(line, "status");
                    // A create is refused with 409, or with 412 when sent as If-None-Match: *.
                    op.precondition_failed = status == 412 || (op.f == op_function::create && status == 409);
                }
                if (op.precondition_failed && !absent_or_null(field(line, "observed")))
                {
                    op.observed = require_version(line, "observed");
                    op.has_observed = true;
                }
            }
            if (writers_.size() <= op.write_id)
                writers_.resize(op.write_id + 1, 0);
            if (writers_[op.write_id] != 0)
                throw bad_line{"write id \"" + std::string(out_.write_ids.text(op.write_id)) +
                               "\" was already used by the write on line " +
                               std::to_string(writers_[op.write_id])};
            writers_[op.write_id] = op.line;
        }
        else if (op.outcome == op_outcome::ok)
        {
            op.version = require_version(line, "version");
            const json::value* id = field(line, "read_write_id");
            if (op.version > 0)
            {
                // An empty one is kept: a body without its write id is for the checkers to report.
                op.read_write_id = out_.write_ids.intern(require_string(line, "read_write_id"));
            }
            else if (!absent_or_null(id))
            {
                // A read of an absent record names no write; one that does is kept, for the
                // checkers to report as torn.
                const std::string_view text = require_string(line, "read_write_id");
                if (!text.empty())
                    op.read_write_id = out_.write_ids.intern(text);
            }
        }
        out_.ops.push_back(op);
    }

    void read_crash(const json::object& line)
    {
        crash_event crash;
        crash.line = line_number;
        crash.at = require_int(line, "at");
        if (const json::value* power = field(line, "power_loss"); !absent_or_null(power))
        {
            if (!power->is_bool())
                throw bad_line{"\"power_loss\" must be true or false"};
            crash.power_loss = power->get_bool();
        }
        out_.crashes.push_back(crash);
    }

    void read_final(const json::object& line)
    {
        const std::uint32_t key = key_of(line);
        final_list& list = out_.finals[key];
        if (list.present)
            throw bad_line{"a second \"final\" line for key \"" + std::string(out_.key_name(key)) +
                           "\" (the first is line " + std::to_string(list.line) + ")"};
        list.present = true;
        list.line = line_number;
        const json::value* versions = field(line, "versions");
        if (versions == nullptr || !versions->is_array())
            throw bad_line{"\"versions\" must be an array"};
        list.versions.reserve(versions->get_array().size());
        for (const json::value& entry : versions->get_array())
        {
            if (!entry.is_object())
                throw bad_line{"each of \"versions\" must be an object"};
            final_version version;
            version.version = require_version(entry.get_object(), "version");
            if (version.version == 0)
                throw bad_line{"final versions start at 1"};
            // Empty when the stored version carries no write id: a phantom for the checkers.
            version.write_id = out_.write_ids.intern(require_string(entry.get_object(), "write_id"));
            if (!list.versions.empty() && list.versions.back().version > version.version)
                throw bad_line{"\"versions\" must be in ascending order"};
            list.versions.push_back(version);
        }
    }

    history& out_;
    std::vector<std::uint32_t> writers_; // by write id: the line of the write that carries it, or 0
    unsigned char buffer_[16384];
};

std::variant<history, history_error> read_lines(std::istream& in)
{
    history out;
    reader lines(out);
    std::string text;
    try
    {
        while (std::getline(in, text))
        {
            ++lines.line_number;
            ++out.lines;
            lines.read_line(text);
        }
        if (in.bad())
            return history_error{0, "reading failed"};
        lines.finish();
    }
    catch (const bad_line& e)
    {
        return history_error{lines.line_number, e.message};
    }
    catch (const history_error& e)
    {
        return e;
    }
    return out;
}

} // namespace

std::variant<history, history_error> read_history(std::istream& in)
{
    return read_lines(in);
}

std::variant<history, history_error> read_history(std::string_view text)
{
    std::istringstream in{std::string(text)};
    return read_lines(in);
}

} // namespace reqstore::check
