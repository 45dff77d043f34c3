// The Wing–Gong linearizability search with Lowe's memoization ("WGL": Lowe, "Testing for
// linearizability", 2017; as in Porcupine and Knossos), over per-key windows.
//
// Keys are independent registers, so a history is linearizable iff each key's is (P-compositionality).
// Each key's operations are cut into windows at the instants when none of them is pending: every
// operation of a window completes before the next window's first one is invoked, so real time puts
// the whole window before the next one, a linearization of the key is one of each window in turn,
// and only the state at the cut carries over. That state is unique: every write that enters the
// search must take effect (acknowledged writes, and writes of unknown outcome that the final list
// shows took effect), writes the final list shows never took effect are left out, and each write
// adds exactly one version, so a window of w writes started at version s ends at s + w in every
// linearization.
//
// The final list bounds the search: the write at version v must be the write the final list names
// for v, and the key must end at the final list's highest version. So every kind of violation the
// version-order checker names (lost-write, lost-update, stale-read, regression, gap, duplicate,
// phantom, torn-read, future-read) is a history with no linearization, and this search reports each
// as not-linearizable, the one kind it names. What it cannot see: a window too wide or too costly
// to search, reported as inconclusive, not as a violation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "history.hpp"

namespace reqstore::check
{

struct wgl_options
{
    // The widest window searched: the most operations of the window invoked while one of them is
    // pending. The memo stores a linearized set as the first unlinearized operation and a mask of
    // the operations after it, as wide as the window, so its size grows with the width.
    std::size_t max_window = 256;
    // The search budget of a window: max_explored configurations, plus explored_per_op for each
    // of its operations, explored (and memoized: 8 bytes per 64 of width, plus 16) before it is
    // given up as inconclusive.
    std::uint64_t max_explored = 1'000'000;
    std::uint64_t explored_per_op = 16;
    // Linearize at once a read or failed write that can take effect (a sound partial-order
    // reduction, see wgl.cpp). Off, the search is Lowe's as published; on, it seldom branches.
    bool reduce = true;
};

struct inconclusive_window
{
    std::string key;
    std::uint32_t first_line = 0;
    std::uint32_t last_line = 0;
    std::size_t ops = 0;
    std::size_t width = 0;
    std::uint64_t explored = 0;
    std::string reason;
};

struct wgl_report
{
    std::vector<violation> violations; // at most one per key: its first window with no linearization
    std::vector<inconclusive_window> inconclusive;
    std::size_t windows = 0;
    std::size_t largest_window = 0; // the most operations in one window
    std::size_t widest_window = 0;  // the greatest width of a window (as max_window counts it)
    std::uint64_t explored = 0;     // configurations explored over all windows
};

// Searches every key of `h` for a linearization, window by window. Writes of unknown outcome are
// resolved by the final list; one's window ends at the first crash after its invocation, or earlier
// when a definite operation that completed earlier saw its version or a later one.
wgl_report check_wgl(const history& h, const wgl_options& options = {});

} // namespace reqstore::check
