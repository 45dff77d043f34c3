// `reqstore restore --from DIR --data-dir NEW`: a new data directory from an online backup (contract
// section 14, docs/OPERATIONS.md "Backups").
#pragma once

namespace reqstore::app
{

// The text `reqstore restore --help` prints.
const char* restore_usage_text();

// Runs the restore command; `argv[0]` is "restore". Prints what it restored (the backup, its sequence,
// its size, where) on standard output, or why not on standard error. Returns the exit code: 0 when
// restored, 1 when the backup is damaged or the copy failed, 2 for a usage error or a directory named
// wrongly (missing, not a backup, a data directory that is not empty).
int restore(int argc, const char* const* argv);

} // namespace reqstore::app
