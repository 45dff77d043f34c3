// Serializing core failures as RFC 9457 problem documents.
#include <reqstore/http/problem.hpp>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace reqstore::http
{

response problem_response(const core::failure& f, std::string_view instance)
{
    const auto d = core::describe_failure(f.code);
    boost::json::object body;
    body["type"] = "/problems/" + std::string(d.slug);
    body["title"] = d.title;
    body["status"] = d.status;
    const bool internal = d.status >= 500;
    if (internal)
        body["detail"] = core::server_failure_detail(f.code);
    else
        body["detail"] = f.detail.empty() ? std::string(d.title) : f.detail;
    body["instance"] = instance;
    if (!internal)
        for (const auto& member : f.extensions)
            body[member.key()] = member.value();
    response r;
    r.status = d.status;
    r.content_type = "application/problem+json";
    r.body = boost::json::serialize(body);
    return r;
}

response problem_response(core::errc code, std::string detail, std::string_view instance)
{
    return problem_response(core::failure(code, std::move(detail)), instance);
}

} // namespace reqstore::http
