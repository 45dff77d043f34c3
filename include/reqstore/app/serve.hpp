// The process's server, from a checked configuration to an exit code: what src/main.cpp calls once it
// has read its flags.
#pragma once

#include <reqstore/app/config.hpp>

namespace reqstore::app
{

// Serves `config` until SIGINT or SIGTERM, then drains and closes (server.hpp). Ignores SIGPIPE and
// raises the open-file limit first. Once the server accepts connections it logs "started" and prints
// exactly one line on standard output, "listening on HOST:PORT" (the real port when the configured one
// is 0). Returns the process's exit code: 0 after a clean drain; 1 when the store cannot be opened, the
// address cannot be bound, webhook delivery cannot start, closing the store fails (after a failed write
// or fsync) or an exception escapes, each said on standard error (a store that cannot be opened, a
// failed close and an exception are logged too). Call once per process.
int serve(const server_config& config);

} // namespace reqstore::app
