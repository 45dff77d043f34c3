// Path matching segment by segment; parameters are views into the request's path.
#include <reqstore/http/router.hpp>

namespace reqstore::http
{
namespace
{

std::vector<std::string_view> split_path(std::string_view path)
{
    std::vector<std::string_view> segments;
    if (path.empty() || path.front() != '/')
        return segments;
    path.remove_prefix(1);
    for (;;)
    {
        const auto slash = path.find('/');
        segments.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos)
            break;
        path.remove_prefix(slash + 1);
    }
    return segments;
}

} // namespace

std::string_view method_name(method m) noexcept
{
    switch (m)
    {
    case method::get:
        return "GET";
    case method::head:
        return "HEAD";
    case method::post:
        return "POST";
    case method::put:
        return "PUT";
    case method::patch:
        return "PATCH";
    case method::delete_:
        return "DELETE";
    case method::options:
        return "OPTIONS";
    case method::other:
        return "OTHER";
    }
    return "OTHER";
}

std::size_t router::add(std::string pattern, std::vector<method_binding> methods)
{
    route_entry r;
    for (auto segment : split_path(pattern))
        r.segments.emplace_back(segment.starts_with("{") ? "{}" : segment);
    r.pattern = std::move(pattern);
    r.methods = std::move(methods);
    routes_.push_back(std::move(r));
    return routes_.size() - 1;
}

std::optional<router::match> router::find(method m, std::string_view path) const
{
    const auto segments = split_path(path);
    for (std::size_t i = 0; i < routes_.size(); ++i)
    {
        const route_entry& r = routes_[i];
        if (r.segments.size() != segments.size())
            continue;
        match found;
        found.route = i;
        bool ok = true;
        for (std::size_t s = 0; s < segments.size() && ok; ++s)
        {
            if (r.segments[s] == "{}")
            {
                ok = !segments[s].empty();
                found.params.push_back(segments[s]);
            }
            else
                ok = r.segments[s] == segments[s];
        }
        if (!ok)
            continue;
        for (const auto& binding : r.methods)
        {
            if (binding.method == m || (m == method::head && binding.method == method::get))
                found.binding = &binding;
            if (!found.allow.empty())
                found.allow += ", ";
            found.allow += method_name(binding.method);
            if (binding.method == method::get)
                found.allow += ", HEAD";
        }
        return found;
    }
    return std::nullopt;
}

void router::add_surface(std::string prefix, surface s)
{
    while (prefix.size() > 1 && prefix.back() == '/')
        prefix.pop_back();
    surfaces_.emplace_back(std::move(prefix), std::move(s));
}

const surface* router::surface_for(std::string_view path) const
{
    const surface* best = nullptr;
    std::size_t best_length = 0;
    for (const auto& [prefix, s] : surfaces_)
    {
        const bool covers = path.starts_with(prefix) &&
                            (path.size() == prefix.size() || prefix == "/" || path[prefix.size()] == '/');
        if (covers && (!best || prefix.size() > best_length))
        {
            best = &s;
            best_length = prefix.size();
        }
    }
    return best;
}

std::vector<router::route_summary> router::summary() const
{
    std::vector<route_summary> out;
    for (const auto& r : routes_)
    {
        route_summary& added = out.emplace_back(route_summary{r.pattern, {}});
        for (const auto& m : r.methods)
            added.methods.emplace_back(m.method, m.scope);
    }
    return out;
}

std::vector<std::string> router::patterns() const
{
    std::vector<std::string> out;
    for (const auto& r : routes_)
        out.push_back(r.pattern);
    return out;
}

} // namespace reqstore::http
