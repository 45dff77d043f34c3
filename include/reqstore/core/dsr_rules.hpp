// The rules a type's `dsr_types` add (data-subject requests, API.md section 12): the `data` fields
// and `attachments` slots of the DSR type a record's `type_id` names, uploads turned into stored
// files, and what entering a state requires of them.
#pragma once

#include <reqstore/core/record_store.hpp>
#include <reqstore/core/request_type.hpp>

#include <boost/json/object.hpp>

#include <string>
#include <vector>

namespace reqstore::core
{

// Turns every upload in `record`'s attachments, `{"fileName","contentType","data": <base64>}`, into
// a stored file entry `{"fileName","contentType","size","sha256"}`, and adds its bytes to `blobs`.
// An entry without `data` must be a stored file entry naming a file `previous` (the record before
// the write, null at creation) already holds. Problems go to `errors` under their JSON Pointers
// (/attachments/<slot>/<i>/data ...). Does nothing for types without dsr_types.
void accept_uploads(const request_type& type, boost::json::object& record,
                    const boost::json::object* previous, std::vector<attachment_blob>& blobs,
                    boost::json::object& errors);

// Adds to `errors` every way `record` does not fit the DSR type its type_id names: an unknown
// type_id, data fields of the wrong shape or not declared, attachment slots not declared, files
// of a content type or size the slot does not take. Required fields are not checked here: they
// are required only to enter a state (dsr_requirements).
void validate_dsr(const request_type& type, const boost::json::object& record, boost::json::object& errors);

// For a state whose `requires` lists "data" and/or "attachments": every required field that is
// absent or null (/data/<name>) and every required slot without a file (/attachments/<name>).
void dsr_requirements(const request_type& type, const boost::json::object& record, bool data,
                      bool attachments, const std::string& state, boost::json::object& errors);

} // namespace reqstore::core
