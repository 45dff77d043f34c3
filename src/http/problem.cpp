// Serializing core failures as RFC 9457 problem documents.
#include <reqstore/http/problem.hpp>
#include <reqstore/http/status_map.hpp>
#include <reqstore/ops/log.hpp>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace reqstore::http
{

response problem_response(const core::failure& f, std::string_view instance)
{
    const auto d = describe_failure(f.code);
    boost::json::object body;
    body["type"] = "/problems/" + std::string(d.slug);
    body["title"] = d.title;
    body["status"] = d.status;
    const bool internal = d.status >= 500;
    body["detail"] = client_detail(f);
    body["instance"] = valid_utf8(instance);
    if (!internal)
        for (const auto& member : f.extensions)
            body[member.key()] = member.value();
    response r;
    r.status = d.status;
    r.content_type = "application/problem+json";
    r.body = boost::json::serialize(body);
    return r;
}

std::string client_detail(const core::failure& f)
{
    const auto d = describe_failure(f.code);
    if (d.status >= 500)
        return std::string(server_failure_detail(f.code));
    return valid_utf8(f.detail.empty() ? std::string_view(d.title) : std::string_view(f.detail));
}

void log_server_failure(const core::failure& f, const request& req)
{
    if (describe_failure(f.code).status >= 500 && !f.detail.empty())
        ops::log().error("request failed",
                         {{"request_id", req.request_id()}, {"path", req.path()}, {"error", f.detail}});
}

std::string valid_utf8(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    const auto byte = [&](std::size_t i)
    {
        return static_cast<unsigned char>(text[i]);
    };
    std::size_t i = 0;
    while (i < text.size())
    {
        const unsigned char lead = byte(i);
        std::size_t length = 0;
        unsigned char low = 0x80, high = 0xBF; // the range of the second byte
        if (lead < 0x80)
            length = 1;
        else if (lead >= 0xC2 && lead <= 0xDF)
            length = 2;
        else if (lead >= 0xE0 && lead <= 0xEF)
        {
            length = 3;
            if (lead == 0xE0)
                low = 0xA0; // no overlong form
            if (lead == 0xED)
                high = 0x9F; // no surrogate
        }
        else if (lead >= 0xF0 && lead <= 0xF4)
        {
            length = 4;
            if (lead == 0xF0)
                low = 0x90; // no overlong form
            if (lead == 0xF4)
                high = 0x8F; // nothing above U+10FFFF
        }
        bool well_formed = length > 0 && i + length <= text.size();
        for (std::size_t k = 1; well_formed && k < length; ++k)
        {
            const unsigned char b = byte(i + k);
            well_formed = k == 1 ? (b >= low && b <= high) : (b >= 0x80 && b <= 0xBF);
        }
        if (well_formed)
        {
            out.append(text.substr(i, length));
            i += length;
        }
        else
        {
            out.append("\xEF\xBF\xBD"); // U+FFFD, and go on at the next byte
            ++i;
        }
    }
    return out;
}

response problem_response(core::errc code, std::string detail, std::string_view instance)
{
    return problem_response(core::failure(code, std::move(detail)), instance);
}

} // namespace reqstore::http
