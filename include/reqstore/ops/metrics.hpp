// The server's counters and histograms, rendered in the Prometheus text exposition format.
// Every update is a relaxed atomic add: no lock on the request path.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace reqstore::ops
{

// A histogram with fixed upper bounds; observations are lock-free.
class histogram
{
public:
    explicit histogram(std::vector<double> upper_bounds);

    void observe(double value) noexcept;
    // Appends `name_bucket{labels,le=...}` lines, `name_sum` and `name_count`.
    void render(std::string& out, std::string_view name, std::string_view labels) const;

private:
    std::vector<double> bounds_;                           // constant after construction
    std::unique_ptr<std::atomic<std::uint64_t>[]> counts_; // one per bound, then +Inf
    std::atomic<std::uint64_t> sum_micro_{0};              // sum in millionths
    std::atomic<std::uint64_t> count_{0};
};

class metrics
{
public:
    static constexpr std::size_t method_count = 8; // http::method's values
    static constexpr unsigned max_status = 600;

    // `methods` names each method index.
    explicit metrics(const std::array<std::string_view, method_count>& methods);

    // Names each route index (the router's order); requests that match no route are counted
    // under an extra "unmatched" route, index routes.size(). Call once, before serving.
    void name_routes(std::vector<std::string> routes);

    std::size_t unmatched_route() const noexcept { return routes_.size() - 1; }

    void record_request(std::size_t route, std::size_t method, unsigned status,
                        std::chrono::nanoseconds latency) noexcept;
    void record_commit_batch(std::size_t commits, std::chrono::nanoseconds write_time) noexcept;
    void record_cas_conflict() noexcept { cas_conflicts_.fetch_add(1, std::memory_order_relaxed); }
    void connection_opened() noexcept { open_connections_.fetch_add(1, std::memory_order_relaxed); }
    void connection_closed() noexcept { open_connections_.fetch_sub(1, std::memory_order_relaxed); }
    std::int64_t open_connections() const noexcept
    {
        return open_connections_.load(std::memory_order_relaxed);
    }

    // Connections closed as soon as they were accepted, by the cap that refused them.
    enum class refusal
    {
        total_cap,
        address_cap,
    };
    void connection_refused(refusal why) noexcept
    {
        refused_connections_[static_cast<std::size_t>(why)].fetch_add(1, std::memory_order_relaxed);
    }
    std::uint64_t refused_connections(refusal why) const noexcept
    {
        return refused_connections_[static_cast<std::size_t>(why)].load(std::memory_order_relaxed);
    }
    // accept() failures (out of file descriptors, out of memory, a connection reset in the queue).
    void accept_failed() noexcept { accept_failures_.fetch_add(1, std::memory_order_relaxed); }
    // TLS handshakes that did not complete (a client that does not speak TLS, an old protocol
    // version, a refused client certificate, the header deadline).
    void tls_handshake_failed() noexcept { tls_handshake_failures_.fetch_add(1, std::memory_order_relaxed); }

    // Webhook deliveries: every attempt's outcome ("succeeded", "failed", "refused", "dead" when
    // the last attempt failed), commit-to-2xx lag, open deliveries and disabled subscriptions.
    void record_delivery_attempt(std::string_view outcome) noexcept;
    void record_delivery_lag(std::chrono::milliseconds lag) noexcept;
    void set_outbox_depth(std::int64_t open) noexcept
    {
        outbox_depth_.store(open, std::memory_order_relaxed);
    }
    void set_disabled_subscriptions(std::int64_t n) noexcept
    {
        disabled_subscriptions_.store(n, std::memory_order_relaxed);
    }

    // The storage engine's background work, read when the metrics are rendered. Set once, before
    // serving.
    struct compaction_gauges
    {
        std::uint64_t running = 0;       // compactions under way
        std::uint64_t pending_bytes = 0; // estimated bytes compaction still has to rewrite
    };
    void on_render_compaction(std::function<compaction_gauges()> read) { read_compaction_ = std::move(read); }
    // Whether the store still takes writes (false once a write or fsync failed). Set once, before
    // serving.
    void on_render_store_writable(std::function<bool()> read) { read_store_writable_ = std::move(read); }

    // A store reached over the network (PostgreSQL), read when the metrics are rendered. Set once,
    // before serving.
    struct remote_store_gauges
    {
        std::uint64_t connections_in_use = 0; // of the readers' pool
        std::uint64_t reconnects = 0;         // connections made after the first ones
        bool reachable = true;                // the last connection attempt succeeded
    };
    void on_render_remote_store(std::function<remote_store_gauges()> read)
    {
        read_remote_store_ = std::move(read);
    }
    // Nodes sharing a store take turns by leases (the webhook fan-out, the expiry scan) and claim
    // delivery lanes: whether this node holds each lease, and how many lanes it holds, rendered
    // once share_work() was called (before serving).
    enum class lease
    {
        fan_out,
        expiry,
    };
    void share_work() noexcept { shares_work_ = true; }
    void set_lease_held(lease which, bool held) noexcept
    {
        leases_held_[static_cast<std::size_t>(which)].store(held, std::memory_order_relaxed);
    }
    void set_lanes_claimed(std::int64_t n) noexcept { lanes_claimed_.store(n, std::memory_order_relaxed); }

    // This node's name among the nodes that share a store (node.id), rendered as
    // reqstore_node_info{node="..."} 1. Set once, before serving.
    void set_node(std::string node) { node_ = std::move(node); }

    std::string render() const;

private:
    struct route_stats
    {
        explicit route_stats(std::string n);

        std::string name;
        std::unique_ptr<std::atomic<std::uint64_t>[]> counts; // [method * max_status + status]
        histogram latency;
    };

    std::array<std::string, method_count> method_names_; // constant after construction
    std::vector<std::unique_ptr<route_stats>> routes_;   // the vector is constant, the counts atomic
    histogram batch_sizes_;
    histogram fsync_seconds_;
    std::atomic<std::uint64_t> commits_{0};
    std::atomic<std::uint64_t> batches_{0};
    std::atomic<std::uint64_t> cas_conflicts_{0};
    std::atomic<std::int64_t> open_connections_{0};
    static constexpr std::array<std::string_view, 2> refusal_reasons{"total_cap", "address_cap"};
    std::array<std::atomic<std::uint64_t>, 2> refused_connections_{};
    std::atomic<std::uint64_t> accept_failures_{0};
    std::atomic<std::uint64_t> tls_handshake_failures_{0};
    static constexpr std::array<std::string_view, 4> delivery_outcomes{"succeeded", "failed", "refused",
                                                                       "dead"};
    std::array<std::atomic<std::uint64_t>, 4> deliveries_{};
    histogram delivery_lag_;
    std::atomic<std::int64_t> outbox_depth_{0};
    std::atomic<std::int64_t> disabled_subscriptions_{0};
    std::function<compaction_gauges()> read_compaction_;     // set before serving, then constant
    std::function<bool()> read_store_writable_;              // set before serving, then constant
    std::function<remote_store_gauges()> read_remote_store_; // set before serving, then constant
    std::string node_;                                       // set before serving, then constant
    bool shares_work_ = false;                               // set before serving, then constant
    static constexpr std::array<std::string_view, 2> lease_names{"fan_out", "expiry"};
    std::array<std::atomic<bool>, 2> leases_held_{};
    std::atomic<std::int64_t> lanes_claimed_{0};
};

} // namespace reqstore::ops
