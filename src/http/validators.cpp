// ETag and Last-Modified on answers, from a version's number and time.
#include <reqstore/core/preconditions.hpp>
#include <reqstore/http/validators.hpp>

namespace reqstore::http
{

void set_validators(response& r, std::uint64_t version, core::unix_millis updated_at)
{
    r.set("ETag", core::etag_for_version(version));
    r.set("Last-Modified", core::format_http_date(updated_at));
}

response not_modified(std::uint64_t version, core::unix_millis updated_at)
{
    response r;
    r.status = 304;
    set_validators(r, version, updated_at);
    return r;
}

void set_current_etag(response& r, const core::failure& f)
{
    if (f.code != core::errc::precondition_failed)
        return;
    if (const auto* etag = f.extensions.if_contains("current_etag"); etag && etag->is_string())
        r.set("ETag", std::string(etag->get_string()));
}

} // namespace reqstore::http
