// Lock-free counters and histograms, and their Prometheus text rendering.
#include <reqstore/ops/metrics.hpp>

#include <array>
#include <cstddef>
#include <cstdio>

// gperftools' tcmalloc, when the program is linked with it (the server is; tests and sanitizer
// builds are not): weak, so that the address is null without it.
extern "C" int MallocExtension_GetNumericProperty(const char* property, std::size_t* value)
    __attribute__((weak));

namespace reqstore::ops
{
namespace
{

// What the allocator says about the heap, when it is tcmalloc. Resident memory alone cannot tell a
// leak from the free memory tcmalloc keeps for reuse after a burst of connections.
void append_allocator_gauges(std::string& out)
{
    if (!MallocExtension_GetNumericProperty)
        return;
    std::size_t allocated = 0;
    std::size_t heap = 0;
    if (!MallocExtension_GetNumericProperty("generic.current_allocated_bytes", &allocated) ||
        !MallocExtension_GetNumericProperty("generic.heap_size", &heap))
        return;
    out.append("# HELP reqstore_allocated_bytes Bytes allocated and not yet freed (tcmalloc).\n");
    out.append("# TYPE reqstore_allocated_bytes gauge\n");
    out.append("reqstore_allocated_bytes ").append(std::to_string(allocated)).append("\n");
    out.append("# HELP reqstore_allocator_heap_bytes Bytes tcmalloc holds from the system: allocated, or "
               "free and kept for reuse.\n");
    out.append("# TYPE reqstore_allocator_heap_bytes gauge\n");
    out.append("reqstore_allocator_heap_bytes ").append(std::to_string(heap)).append("\n");
}

std::vector<double> latency_bounds()
{
    return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

void append_number(std::string& out, double v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    out += buf;
}

// A label value as the text format writes it: backslash, double quote and newline escaped.
std::string label_value(std::string_view text)
{
    std::string out;
    for (const char c : text)
    {
        if (c == '\\' || c == '"')
            out.push_back('\\');
        if (c == '\n')
            out.append("\\n");
        else
            out.push_back(c);
    }
    return out;
}

void append_header(std::string& out, std::string_view name, std::string_view type, std::string_view help)
{
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

// One sample per label value: name{label="values[i]"} value_of(i).
template <std::size_t N, class ValueOf>
void append_labelled(std::string& out, std::string_view name, std::string_view label,
                     const std::array<std::string_view, N>& values, ValueOf value_of)
{
    for (std::size_t i = 0; i < N; ++i)
        out.append(name)
            .append("{")
            .append(label)
            .append("=\"")
            .append(values[i])
            .append("\"} ")
            .append(std::to_string(value_of(i)))
            .append("\n");
}

} // namespace

histogram::histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(new std::atomic<std::uint64_t>[bounds_.size() + 1])
{
    for (std::size_t i = 0; i <= bounds_.size(); ++i)
        counts_[i].store(0, std::memory_order_relaxed);
}

void histogram::observe(double value) noexcept
{
    std::size_t i = 0;
    while (i < bounds_.size() && value > bounds_[i])
        ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_micro_.fetch_add(static_cast<std::uint64_t>(value * 1e6), std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
}

void histogram::render(std::string& out, std::string_view name, std::string_view labels) const
{
    std::uint64_t cumulative = 0;
    const std::string prefix = labels.empty() ? std::string() : std::string(labels) + ",";
    for (std::size_t i = 0; i <= bounds_.size(); ++i)
    {
        cumulative += counts_[i].load(std::memory_order_relaxed);
        out.append(name).append("_bucket{").append(prefix).append("le=\"");
        if (i < bounds_.size())
            append_number(out, bounds_[i]);
        else
            out.append("+Inf");
        out.append("\"} ").append(std::to_string(cumulative)).append("\n");
    }
    const std::string braces = labels.empty() ? std::string() : "{" + std::string(labels) + "}";
    out.append(name).append("_sum").append(braces).append(" ");
    append_number(out, static_cast<double>(sum_micro_.load(std::memory_order_relaxed)) / 1e6);
    out.append("\n").append(name).append("_count").append(braces).append(" ");
    out.append(std::to_string(count_.load(std::memory_order_relaxed))).append("\n");
}

metrics::route_stats::route_stats(std::string n)
    : name(std::move(n)), counts(new std::atomic<std::uint64_t>[method_count * max_status]),
      latency(latency_bounds())
{
    for (std::size_t i = 0; i < method_count * max_status; ++i)
        counts[i].store(0, std::memory_order_relaxed);
}

metrics::metrics(const std::array<std::string_view, method_count>& methods)
    : batch_sizes_({1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096}),
      fsync_seconds_({0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}),
      delivery_lag_({0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300, 3600})
{
    for (std::size_t m = 0; m < method_count; ++m)
        method_names_[m] = methods[m];
    name_routes({});
}

void metrics::name_routes(std::vector<std::string> routes)
{
    routes_.clear();
    routes.emplace_back("unmatched");
    for (auto& name : routes)
    {
        routes_.push_back(std::make_unique<route_stats>(std::move(name)));
    }
}

void metrics::record_request(std::size_t route, std::size_t method, unsigned status,
                             std::chrono::nanoseconds latency) noexcept
{
    if (route >= routes_.size())
        route = routes_.size() - 1;
    if (method >= method_count || status >= max_status)
        return;
    auto& stats = *routes_[route];
    stats.counts[method * max_status + status].fetch_add(1, std::memory_order_relaxed);
    stats.latency.observe(std::chrono::duration<double>(latency).count());
    if (status == 412)
        record_cas_conflict();
}

void metrics::record_commit_batch(std::size_t commits, std::chrono::nanoseconds write_time) noexcept
{
    batches_.fetch_add(1, std::memory_order_relaxed);
    commits_.fetch_add(commits, std::memory_order_relaxed);
    batch_sizes_.observe(static_cast<double>(commits));
    fsync_seconds_.observe(std::chrono::duration<double>(write_time).count());
}

void metrics::record_delivery_attempt(std::string_view outcome) noexcept
{
    for (std::size_t i = 0; i < delivery_outcomes.size(); ++i)
        if (delivery_outcomes[i] == outcome)
            deliveries_[i].fetch_add(1, std::memory_order_relaxed);
}

void metrics::record_delivery_lag(std::chrono::milliseconds lag) noexcept
{
    delivery_lag_.observe(std::chrono::duration<double>(lag).count());
}

std::string metrics::render() const
{
    std::string out;
    out.reserve(16384);
    append_header(out, "reqstore_http_requests_total", "counter",
                  "HTTP requests answered, by route, method and status.");
    for (const auto& r : routes_)
        for (std::size_t m = 0; m < method_count; ++m)
            for (unsigned s = 0; s < max_status; ++s)
                if (const auto n = r->counts[m * max_status + s].load(std::memory_order_relaxed))
                    out.append("reqstore_http_requests_total{route=\"")
                        .append(r->name)
                        .append("\",method=\"")
                        .append(method_names_[m])
                        .append("\",status=\"")
                        .append(std::to_string(s))
                        .append("\"} ")
                        .append(std::to_string(n))
                        .append("\n");
    append_header(out, "reqstore_http_request_duration_seconds", "histogram",
                  "Time from a request's last byte read to its answer written, by route.");
    for (const auto& r : routes_)
        r->latency.render(out, "reqstore_http_request_duration_seconds", "route=\"" + r->name + "\"");
    append_header(out, "reqstore_commits_total", "counter", "Record versions committed.");
    out.append("reqstore_commits_total ").append(std::to_string(commits_.load())).append("\n");
    append_header(out, "reqstore_commit_batches_total", "counter",
                  "Group-commit writes (one fsync each when durable).");
    out.append("reqstore_commit_batches_total ").append(std::to_string(batches_.load())).append("\n");
    append_header(out, "reqstore_commit_batch_size", "histogram",
                  "Commits carried by one group-commit write.");
    batch_sizes_.render(out, "reqstore_commit_batch_size", "");
    append_header(out, "reqstore_fsync_duration_seconds", "histogram",
                  "Duration of one group-commit write including its WAL fsync.");
    fsync_seconds_.render(out, "reqstore_fsync_duration_seconds", "");
    append_header(out, "reqstore_cas_conflicts_total", "counter",
                  "Writes refused with 412 Precondition Failed.");
    out.append("reqstore_cas_conflicts_total ").append(std::to_string(cas_conflicts_.load())).append("\n");
    append_header(out, "reqstore_webhook_deliveries_total", "counter",
                  "Webhook delivery attempts by outcome (dead: the last attempt of a delivery failed).");
    append_labelled(out, "reqstore_webhook_deliveries_total", "outcome", delivery_outcomes,
                    [this](std::size_t i) { return deliveries_[i].load(); });
    append_header(out, "reqstore_webhook_delivery_lag_seconds", "histogram",
                  "From an event's commit to its delivery's 2xx answer.");
    delivery_lag_.render(out, "reqstore_webhook_delivery_lag_seconds", "");
    append_header(out, "reqstore_outbox_depth", "gauge", "Deliveries not yet settled (pending or failed).");
    out.append("reqstore_outbox_depth ").append(std::to_string(outbox_depth_.load())).append("\n");
    append_header(out, "reqstore_webhook_subscriptions_disabled", "gauge", "Subscriptions disabled now.");
    out.append("reqstore_webhook_subscriptions_disabled ")
        .append(std::to_string(disabled_subscriptions_.load()))
        .append("\n");
    append_header(out, "reqstore_open_connections", "gauge", "Client connections open now.");
    out.append("reqstore_open_connections ").append(std::to_string(open_connections_.load())).append("\n");
    append_header(out, "reqstore_connections_refused_total", "counter",
                  "Connections closed as soon as they were accepted, by the cap that refused them.");
    append_labelled(out, "reqstore_connections_refused_total", "reason", refusal_reasons,
                    [this](std::size_t i) { return refused_connections_[i].load(); });
    append_header(out, "reqstore_accept_failures_total", "counter",
                  "accept() failures, such as running out of file descriptors.");
    out.append("reqstore_accept_failures_total ")
        .append(std::to_string(accept_failures_.load()))
        .append("\n");
    append_header(out, "reqstore_tls_handshake_failures_total", "counter",
                  "TLS handshakes that did not complete: no TLS, an old version, a refused client "
                  "certificate, or the header deadline.");
    out.append("reqstore_tls_handshake_failures_total ")
        .append(std::to_string(tls_handshake_failures_.load()))
        .append("\n");
    append_allocator_gauges(out);
    if (read_compaction_)
    {
        const compaction_gauges c = read_compaction_();
        append_header(out, "reqstore_store_compactions_running", "gauge", "RocksDB compactions under way.");
        out.append("reqstore_store_compactions_running ").append(std::to_string(c.running)).append("\n");
        append_header(out, "reqstore_store_pending_compaction_bytes", "gauge",
                      "Bytes RocksDB estimates its compactions still have to rewrite.");
        out.append("reqstore_store_pending_compaction_bytes ")
            .append(std::to_string(c.pending_bytes))
            .append("\n");
    }
    if (read_remote_store_)
    {
        const remote_store_gauges g = read_remote_store_();
        append_header(out, "reqstore_store_connections_in_use", "gauge",
                      "Connections of the store's reader pool lent to a call now.");
        out.append("reqstore_store_connections_in_use ")
            .append(std::to_string(g.connections_in_use))
            .append("\n");
        append_header(out, "reqstore_store_reconnects_total", "counter",
                      "Connections to the store made after the first ones (after a loss or a failover).");
        out.append("reqstore_store_reconnects_total ").append(std::to_string(g.reconnects)).append("\n");
        append_header(out, "reqstore_store_reachable", "gauge",
                      "1 while the last connection attempt succeeded.");
        out.append("reqstore_store_reachable ").append(g.reachable ? "1" : "0").append("\n");
    }
    if (shares_work_)
    {
        append_header(out, "reqstore_lease_held", "gauge",
                      "1 while this node holds the lease, among the nodes that share the store.");
        append_labelled(out, "reqstore_lease_held", "lease", lease_names,
                        [this](std::size_t i) { return leases_held_[i].load() ? 1 : 0; });
        append_header(out, "reqstore_webhook_lanes_claimed", "gauge",
                      "Delivery lanes this node holds a claim on now.");
        out.append("reqstore_webhook_lanes_claimed ")
            .append(std::to_string(lanes_claimed_.load()))
            .append("\n");
    }
    if (!node_.empty())
    {
        append_header(out, "reqstore_node_info", "gauge",
                      "This node's name among the nodes that share a store.");
        out.append("reqstore_node_info{node=\"").append(label_value(node_)).append("\"} 1\n");
    }
    if (read_store_writable_)
    {
        append_header(out, "reqstore_store_writable", "gauge",
                      "1 while the store takes writes; 0 once a write or fsync failed, until a restart.");
        out.append("reqstore_store_writable ").append(read_store_writable_() ? "1" : "0").append("\n");
    }
    return out;
}

} // namespace reqstore::ops
