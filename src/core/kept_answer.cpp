// The stored form of a kept idempotent answer (kept_answer.hpp).
#include <reqstore/core/kept_answer.hpp>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace reqstore::core
{
namespace json = boost::json;

namespace
{

constexpr std::string_view format_key = "kept_answer";

std::optional<std::string> text(const json::object& o, std::string_view name)
{
    const auto* v = o.if_contains(name);
    if (!v || !v->is_string())
        return std::nullopt;
    return std::string(v->get_string());
}

std::optional<std::uint64_t> whole(const json::object& o, std::string_view name)
{
    const auto* v = o.if_contains(name);
    if (v && v->is_uint64())
        return v->get_uint64();
    if (v && v->is_int64() && v->get_int64() >= 0)
        return static_cast<std::uint64_t>(v->get_int64());
    return std::nullopt;
}

std::optional<bool> flag(const json::object& o, std::string_view name)
{
    const auto* v = o.if_contains(name);
    if (!v || !v->is_bool())
        return std::nullopt;
    return v->get_bool();
}

} // namespace

std::string encode_kept_answer(const kept_answer& answer)
{
    const write_outcome& w = answer.outcome;
    const stored_version& v = w.record;
    json::array changed;
    for (const auto& name : v.changed)
        changed.emplace_back(name);
    return json::serialize(json::object{{format_key, 1},
                                        {"form", answer.answer_form},
                                        {"id", w.id},
                                        {"created", w.created},
                                        {"committed", w.committed},
                                        {"version", v.version},
                                        {"tag", v.tag},
                                        {"updated_at", v.updated_at},
                                        {"deleted", v.deleted},
                                        {"type", v.type},
                                        {"status", v.status},
                                        {"updated_by", v.updated_by},
                                        {"changed", std::move(changed)},
                                        {"body", v.body}});
}

std::optional<kept_answer> decode_kept_answer(std::string_view bytes)
{
    boost::system::error_code ec;
    const json::value parsed = json::parse(bytes, ec);
    if (ec || !parsed.is_object() || whole(parsed.get_object(), format_key) != 1u)
        return std::nullopt;
    const json::object& o = parsed.get_object();
    kept_answer k;
    auto form = text(o, "form");
    auto id = text(o, "id");
    const auto created = flag(o, "created");
    const auto committed = flag(o, "committed");
    const auto version = whole(o, "version");
    const auto tag = whole(o, "tag");
    const auto* updated_at = o.if_contains("updated_at");
    const auto deleted = flag(o, "deleted");
    auto type = text(o, "type");
    auto status = text(o, "status");
    auto updated_by = text(o, "updated_by");
    const auto* changed = o.if_contains("changed");
    auto body = text(o, "body");
    if (!form || !id || !created || !committed || !version || !tag || !updated_at ||
        !updated_at->is_number() || !deleted || !type || !status || !updated_by || !changed ||
        !changed->is_array() || !body)
        return std::nullopt;
    k.answer_form = std::move(*form);
    k.outcome.id = std::move(*id);
    k.outcome.created = *created;
    k.outcome.committed = *committed;
    stored_version& v = k.outcome.record;
    v.version = *version;
    v.tag = *tag;
    v.updated_at = updated_at->to_number<unix_millis>();
    v.deleted = *deleted;
    v.type = std::move(*type);
    v.status = std::move(*status);
    v.updated_by = std::move(*updated_by);
    for (const auto& name : changed->get_array())
    {
        if (!name.is_string())
            return std::nullopt;
        v.changed.emplace_back(name.get_string());
    }
    v.body = std::move(*body);
    return k;
}

} // namespace reqstore::core
