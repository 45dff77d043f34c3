// The version-order checker: checks a whole history against each key's final version list and the
// real-time order of what clients saw, in O(n log n).
//
// It names nine kinds of violation: lost-write, lost-update, stale-read, regression, gap,
// duplicate, phantom, torn-read and future-read. What it cannot see: anomalies that only show in
// the interplay of operations none of which observed a version, such as a 412 without an
// "observed" version while the record must have been at the If-Match version throughout the
// request, or a 409 on a create of a record that did not exist yet. Such a history has no
// linearization, and only the WGL search (wgl.hpp) reports it, as not-linearizable.
#pragma once

#include <vector>

#include "history.hpp"

namespace reqstore::check
{

struct version_order_report
{
    std::vector<violation> violations; // every violation found, ordered by first line
};

// Checks every key of `h`:
// - its final list: version numbers 1, 2, 3, ... without a gap or a repeat (gap, duplicate), each
//   traceable to a write of this key that was not reported as failed (phantom), no write listed
//   twice (duplicate), and each write stored at the version its precondition allows (lost-update:
//   cas(E) at E+1, create at 1);
// - every acknowledged write: at the version it reported, stored in the final list with its write
//   id (lost-write), at the version its precondition allows (lost-update), and no two acknowledged
//   with the same version (duplicate);
// - every version a client observed (a read, a 412's ETag, a cas's If-Match): present in the final
//   list (lost-write) with the write id the read named (torn-read), from a write of this key not
//   reported as failed (phantom), whose write was invoked before the observer completed
//   (future-read);
// - real time: no read or 412 older than a write acknowledged before it began (stale-read) or
//   than a version any client had seen before it began (regression), and no write acknowledged on
//   a precondition older than a version seen before it began (lost-update).
// Writes of unknown outcome are resolved by the final list: present, they took effect at the
// version listed; absent, they never happened.
version_order_report check_version_order(const history& h);

} // namespace reqstore::check
