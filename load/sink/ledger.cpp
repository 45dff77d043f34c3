// The sink's bookkeeping: counters, per-record version streams, the attempts in flight per lane,
// and their JSON views.
#include "ledger.hpp"

#include <boost/json/array.hpp>

#include <algorithm>
#include <utility>

namespace reqstore::sink
{
namespace json = boost::json;

namespace
{

json::object to_json(const counters& c)
{
    return {{"received", c.received},
            {"accepted", c.accepted},
            {"bad_signature", c.bad_signature},
            {"stale_timestamps", c.stale_timestamps},
            {"bad_body", c.bad_body},
            {"duplicates", c.duplicates},
            {"out_of_order", c.out_of_order},
            {"repeated_versions", c.repeated_versions},
            {"gaps", c.gaps},
            {"missing_versions", c.missing_versions},
            {"failed_on_purpose", c.failed_on_purpose},
            {"hung_on_purpose", c.hung_on_purpose},
            {"overlapping_attempts", c.overlapping_attempts}};
}

json::value optional_json(const std::optional<std::string>& s)
{
    return s ? json::value(*s) : json::value(nullptr);
}

json::value optional_json(const std::optional<std::int64_t>& n)
{
    return n ? json::value(*n) : json::value(nullptr);
}

} // namespace

lane_attempt::lane_attempt(ledger& book, std::string lane, std::string webhook_id) noexcept
    : book_(&book), lane_(std::move(lane)), webhook_id_(std::move(webhook_id))
{
}

lane_attempt::lane_attempt(lane_attempt&& other) noexcept
    : book_(std::exchange(other.book_, nullptr)), lane_(std::move(other.lane_)),
      webhook_id_(std::move(other.webhook_id_))
{
}

lane_attempt& lane_attempt::operator=(lane_attempt&& other) noexcept
{
    if (this != &other)
    {
        end();
        book_ = std::exchange(other.book_, nullptr);
        lane_ = std::move(other.lane_);
        webhook_id_ = std::move(other.webhook_id_);
    }
    return *this;
}

lane_attempt::~lane_attempt()
{
    end();
}

void lane_attempt::end() noexcept
{
    if (book_ != nullptr)
        std::exchange(book_, nullptr)->end_attempt(lane_, webhook_id_);
}

counters& ledger::path_counters(const std::string& path)
{
    // Paths come from whoever connects: past the bound, new ones share one entry.
    if (by_path_.size() >= max_paths && !by_path_.contains(path))
        return by_path_[std::string(other_paths)];
    return by_path_[path];
}

void ledger::count_received(const std::string& path)
{
    std::lock_guard lock(mutex_);
    ++total_.received;
    ++path_counters(path).received;
}

void ledger::count_bad_signature(const std::string& path, bool stale)
{
    std::lock_guard lock(mutex_);
    for (counters* c : {&total_, &path_counters(path)})
    {
        ++c->bad_signature;
        if (stale)
            ++c->stale_timestamps;
    }
}

void ledger::count_bad_body(const std::string& path)
{
    std::lock_guard lock(mutex_);
    ++total_.bad_body;
    ++path_counters(path).bad_body;
}

void ledger::count_failed_on_purpose(const std::string& path)
{
    std::lock_guard lock(mutex_);
    ++total_.failed_on_purpose;
    ++path_counters(path).failed_on_purpose;
}

void ledger::count_hung_on_purpose(const std::string& path)
{
    std::lock_guard lock(mutex_);
    ++total_.hung_on_purpose;
    ++path_counters(path).hung_on_purpose;
}

verdict ledger::record(delivery d)
{
    d.at = core::now_millis();
    verdict v;
    std::lock_guard lock(mutex_);
    counters& here = path_counters(d.path);
    const auto count = [&](std::uint64_t counters::*field, std::uint64_t n = 1)
    {
        total_.*field += n;
        here.*field += n;
    };
    count(&counters::accepted);
    v.duplicate = !accepted_ids_.insert(d.path + "\n" + d.webhook_id).second;
    d.duplicate = v.duplicate;
    if (v.duplicate)
        count(&counters::duplicates);
    if (d.record)
    {
        record_state& r = records_[*d.record];
        if (d.version && !v.duplicate)
        {
            std::int64_t& highest = r.by_path[d.path].highest;
            if (*d.version < highest)
            {
                v.out_of_order = true;
                count(&counters::out_of_order);
            }
            else if (*d.version == highest)
                count(&counters::repeated_versions);
            else
            {
                if (*d.version > highest + 1)
                {
                    v.gap = true;
                    count(&counters::gaps);
                    count(&counters::missing_versions, static_cast<std::uint64_t>(*d.version - highest - 1));
                }
                highest = *d.version;
            }
        }
        if (r.deliveries.size() < max_deliveries_per_record)
            r.deliveries.push_back(d);
        else
            ++r.dropped;
    }
    last_.push_back(std::move(d));
    if (last_.size() > last_kept)
        last_.pop_front();
    return v;
}

lane_attempt ledger::begin_attempt(const std::string& path, const std::string& record, std::string webhook_id)
{
    std::string lane = path + "\n" + record;
    std::lock_guard lock(mutex_);
    std::vector<std::string>& attempts = in_flight_[lane];
    if (!attempts.empty())
    {
        ++total_.overlapping_attempts;
        ++path_counters(path).overlapping_attempts;
        if (overlaps_.size() < overlaps_kept)
            overlaps_.push_back({path, record, attempts.front(), webhook_id, core::now_millis()});
    }
    attempts.push_back(webhook_id);
    return lane_attempt(*this, std::move(lane), std::move(webhook_id));
}

void ledger::end_attempt(const std::string& lane, const std::string& webhook_id) noexcept
{
    std::lock_guard lock(mutex_);
    const auto it = in_flight_.find(lane);
    if (it == in_flight_.end())
        return; // not reached: each lane_attempt ends once, and its lane stays until then
    // Two attempts with one webhook-id (a retry while the first is in flight) are alike: either may go.
    std::vector<std::string>& attempts = it->second;
    if (const auto found = std::find(attempts.begin(), attempts.end(), webhook_id); found != attempts.end())
        attempts.erase(found);
    if (attempts.empty())
        in_flight_.erase(it);
}

json::object ledger::summary() const
{
    std::lock_guard lock(mutex_);
    json::object out = to_json(total_);
    json::object paths;
    for (const auto& [path, c] : by_path_)
        paths[path] = to_json(c);
    out["by_path"] = std::move(paths);
    out["records"] = records_.size();
    json::array last;
    for (const delivery& d : last_)
        last.push_back(json::object{{"id", d.webhook_id},
                                    {"type", d.type},
                                    {"record", optional_json(d.record)},
                                    {"version", optional_json(d.version)},
                                    {"path", d.path},
                                    {"at", core::format_rfc3339(d.at)},
                                    {"duplicate", d.duplicate}});
    out["last"] = std::move(last);
    json::array overlaps;
    for (const overlap& o : overlaps_)
        overlaps.push_back(json::object{{"path", o.path},
                                        {"record", o.record},
                                        {"webhook_id_in_flight", o.webhook_id_in_flight},
                                        {"webhook_id_arriving", o.webhook_id_arriving},
                                        {"at", core::format_rfc3339(o.at)}});
    out["overlaps"] = std::move(overlaps);
    return out;
}

json::object ledger::deliveries_of(std::string_view record) const
{
    std::lock_guard lock(mutex_);
    json::array list;
    bool truncated = false;
    if (const auto it = records_.find(std::string(record)); it != records_.end())
    {
        for (const delivery& d : it->second.deliveries)
            list.push_back(json::object{{"webhook_id", d.webhook_id},
                                        {"type", d.type},
                                        {"version", optional_json(d.version)},
                                        {"path", d.path},
                                        {"at", core::format_rfc3339(d.at)},
                                        {"duplicate", d.duplicate}});
        truncated = it->second.dropped > 0;
    }
    return {{"record", record}, {"deliveries", std::move(list)}, {"truncated", truncated}};
}

} // namespace reqstore::sink
