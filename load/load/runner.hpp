// A whole run of reqstore-load: reach the target, set up the keys, run the scenario on every
// connection for the duration, check the result, report it.
#pragma once

#include "options.hpp"

namespace reqstore::load
{

// Runs everything and prints the summary on stdout (and the progress on stderr when it is a
// terminal, unless --quiet). Returns the exit code: 0 when the run completed and its check holds,
// 1 when the check fails, the target cannot be reached or the setup fails.
int run(const options& o);

} // namespace reqstore::load
