// Encoding and bounds-checked decoding of stored versions and events.
#include <reqstore/store/rocks/codec.hpp>
#include <reqstore/store/rocks/keys.hpp>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace reqstore::store
{
namespace
{

constexpr unsigned char format_1 = 1;
constexpr unsigned char flag_deleted = 1;
constexpr unsigned char flag_tagged = 2; // a be64 tag follows the version

void append_be16(std::string& out, std::size_t n)
{
    out.push_back(static_cast<char>((n >> 8) & 0xff));
    out.push_back(static_cast<char>(n & 0xff));
}

void append_str(std::string& out, std::string_view s)
{
    // Strings here are type, status, key ids and member names: far below 64 KiB. A longer
    // one is cut rather than corrupting the layout.
    const std::size_t n = std::min<std::size_t>(s.size(), 0xffff);
    append_be16(out, n);
    out.append(s.substr(0, n));
}

// A cursor over bytes that fails instead of reading past the end.
struct reader
{
    std::string_view in;
    bool ok = true;

    std::uint64_t be64()
    {
        auto v = read_be64(in);
        if (!v)
        {
            ok = false;
            return 0;
        }
        in.remove_prefix(8);
        return *v;
    }
    std::size_t be16()
    {
        if (in.size() < 2)
        {
            ok = false;
            return 0;
        }
        const std::size_t n = (static_cast<unsigned char>(in[0]) << 8) | static_cast<unsigned char>(in[1]);
        in.remove_prefix(2);
        return n;
    }
    std::string_view str()
    {
        const std::size_t n = be16();
        if (!ok || in.size() < n)
        {
            ok = false;
            return {};
        }
        auto s = in.substr(0, n);
        in.remove_prefix(n);
        return s;
    }
};

} // namespace

std::string encode_version(const core::stored_version& v)
{
    std::string out;
    std::size_t size = 2 + 24 + 6 + v.type.size() + v.status.size() + v.updated_by.size() + 2 + v.body.size();
    for (const auto& name : v.changed)
        size += 2 + name.size();
    out.reserve(size);
    out.push_back(static_cast<char>(format_1));
    out.push_back(static_cast<char>((v.deleted ? flag_deleted : 0) | (v.tag != 0 ? flag_tagged : 0)));
    append_be64(out, v.version);
    if (v.tag != 0)
        append_be64(out, v.tag);
    append_be64(out, static_cast<std::uint64_t>(v.updated_at));
    append_str(out, v.type);
    append_str(out, v.status);
    append_str(out, v.updated_by);
    append_be16(out, std::min<std::size_t>(v.changed.size(), 0xffff));
    for (std::size_t i = 0; i < v.changed.size() && i < 0xffff; ++i)
        append_str(out, v.changed[i]);
    out.append(v.body);
    return out;
}

std::optional<version_head> decode_version_head(std::string_view bytes) noexcept
{
    if (bytes.size() < 10 || static_cast<unsigned char>(bytes[0]) != format_1)
        return std::nullopt;
    const auto flags = static_cast<unsigned char>(bytes[1]);
    std::uint64_t tag = 0;
    if (flags & flag_tagged)
    {
        if (bytes.size() < 18)
            return std::nullopt;
        tag = *read_be64(bytes.substr(10));
    }
    return version_head{*read_be64(bytes.substr(2)), tag, (flags & flag_deleted) != 0};
}

std::optional<core::stored_version> decode_version(std::string_view bytes, bool with_body)
{
    if (bytes.size() < 2 || static_cast<unsigned char>(bytes[0]) != format_1)
        return std::nullopt;
    core::stored_version v;
    const auto flags = static_cast<unsigned char>(bytes[1]);
    v.deleted = (flags & flag_deleted) != 0;
    reader r{bytes.substr(2)};
    v.version = r.be64();
    if (flags & flag_tagged)
        v.tag = r.be64();
    v.updated_at = static_cast<core::unix_millis>(r.be64());
    v.type = r.str();
    v.status = r.str();
    v.updated_by = r.str();
    const std::size_t count = r.be16();
    for (std::size_t i = 0; r.ok && i < count; ++i)
        v.changed.emplace_back(r.str());
    if (!r.ok)
        return std::nullopt;
    if (with_body)
        v.body = r.in;
    return v;
}

std::string encode_event(const core::event_draft& event, std::uint64_t sequence)
{
    return core::feed_entry_json(event, sequence);
}

std::string encode_idempotency(const core::idempotency_entry& entry)
{
    std::string out;
    out.reserve(1 + 8 + 2 + entry.fingerprint.size() + entry.answer.size());
    out.push_back(static_cast<char>(format_1));
    append_be64(out, static_cast<std::uint64_t>(entry.created_at));
    append_str(out, entry.fingerprint);
    out.append(entry.answer);
    return out;
}

std::optional<core::idempotency_entry> decode_idempotency(std::string_view key, std::string_view bytes)
{
    if (bytes.empty() || static_cast<unsigned char>(bytes[0]) != format_1)
        return std::nullopt;
    reader r{bytes.substr(1)};
    core::idempotency_entry entry;
    entry.key = key;
    entry.created_at = static_cast<core::unix_millis>(r.be64());
    entry.fingerprint = r.str();
    if (!r.ok)
        return std::nullopt;
    entry.answer = r.in;
    return entry;
}

} // namespace reqstore::store
