// JSON Lines output of the history; see history.hpp for the format's reader.
#include "history.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace reqstore::torture
{
namespace json = boost::json;
namespace
{

const char* kind_name(op_kind k)
{
    switch (k)
    {
    case op_kind::create:
        return "create";
    case op_kind::cas:
        return "cas";
    case op_kind::read:
        break;
    }
    return "read";
}

const char* outcome_name(op_outcome o)
{
    switch (o)
    {
    case op_outcome::ok:
        return "ok";
    case op_outcome::fail:
        return "fail";
    case op_outcome::unknown:
        break;
    }
    return "unknown";
}

json::object op_line(const op_record& op)
{
    json::object line{{"type", "op"},  {"process", op.process}, {"f", kind_name(op.kind)},
                      {"key", op.key}, {"invoke", op.invoke},   {"outcome", outcome_name(op.outcome)}};
    if (op.complete)
        line["complete"] = *op.complete;
    else
        line["complete"] = nullptr;
    if (op.kind != op_kind::read)
    {
        line["write_id"] = op.write_id;
        line["expected"] = op.expected;
    }
    if (op.outcome == op_outcome::ok)
        line["version"] = op.version;
    if (op.observed)
        line["observed"] = *op.observed;
    if (op.status != 0)
        line["status"] = op.status; // only a 412 says the version was not the expected one
    if (op.kind == op_kind::read && op.outcome == op_outcome::ok && op.version > 0)
        line["read_write_id"] = op.read_write_id;
    return line;
}

} // namespace

void history::write(std::ostream& out,
                    const std::vector<std::pair<std::string, std::vector<version_entry>>>& finals) const
{
    std::size_t next_mark = 0;
    const auto write_marks_before = [&](std::size_t op_index)
    {
        for (; next_mark < marks_.size() && marks_[next_mark].after_ops <= op_index; ++next_mark)
        {
            const auto& m = marks_[next_mark];
            json::object line{{"type", m.is_crash ? "crash" : "restart"}, {"at", m.at}};
            if (m.is_crash && m.power_loss)
                line["power_loss"] = true;
            out << json::serialize(line) << '\n';
        }
    };
    for (std::size_t i = 0; i < ops_.size(); ++i)
    {
        write_marks_before(i);
        out << json::serialize(op_line(ops_[i])) << '\n';
    }
    write_marks_before(ops_.size());
    for (const auto& [key, versions] : finals)
    {
        json::array list;
        for (const auto& v : versions)
            list.push_back(json::object{{"version", v.version}, {"write_id", v.write_id}});
        out << json::serialize(json::object{{"type", "final"}, {"key", key}, {"versions", std::move(list)}})
            << '\n';
    }
}

} // namespace reqstore::torture
