// reqstore-sink's --bodies file: every accepted delivery as one JSON line, for tests that judge
// what a receiver gets (tests/openapi/conformance.test.mjs holds the bodies to docs/openapi.json).
#pragma once

#include <reqstore/http/message.hpp>

#include <fstream>
#include <mutex>
#include <string>

namespace reqstore::sink
{

class body_log
{
public:
    // Opens `file` for appending; good() tells whether it could.
    explicit body_log(const std::string& file);

    bool good() const { return out_.good(); }

    // Appends {"path", "headers": {the webhook-* headers and content-type}, "body": <the JSON>}
    // and flushes, so that a reader polling the file sees whole lines only. `req.body()` must be
    // JSON. Thread-safe.
    void append(const http::request& req);

private:
    std::mutex mutex_; // guards out_
    std::ofstream out_;
};

} // namespace reqstore::sink
