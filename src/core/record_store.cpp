// The rules every engine of the storage interface applies alike (record_store.hpp).
#include <reqstore/core/record_store.hpp>

namespace reqstore::core
{

std::optional<failure> idempotency_refusal(const commit_request& request,
                                           std::optional<unix_millis> stored_created_at)
{
    if (!request.idempotency || request.idempotency_answered_since == 0 || !stored_created_at ||
        *stored_created_at < request.idempotency_answered_since)
        return std::nullopt;
    return failure(errc::idempotency_in_flight,
                   "idempotency key " +
                       request.idempotency->key.substr(request.idempotency->key.find('\n') + 1) +
                       " was answered while this request was handled (a duplicate committed first)");
}

boost::asio::awaitable<result<std::vector<std::optional<stored_version>>>>
record_store::load_versions(std::vector<std::pair<std::string, std::uint64_t>> wanted)
{
    std::vector<std::optional<stored_version>> out;
    out.reserve(wanted.size());
    for (const auto& [id, version] : wanted)
    {
        auto loaded = co_await load_version(id, version);
        if (!loaded)
            co_return loaded.error();
        out.push_back(std::move(*loaded));
    }
    co_return out;
}

} // namespace reqstore::core
