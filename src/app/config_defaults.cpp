// The built-in defaults: the local profile, as JSON text, which every config file patches.
#include <reqstore/app/config.hpp>

namespace reqstore::app
{

namespace
{

// The local profile. Keep config/reqstore.json identical (a unit test compares them) and
// docs/CONFIG.md in step.
constexpr std::string_view defaults_text = R"json({
  "listen": "127.0.0.1:8080",
  "listen_plain": "",
  "tls": {
    "cert_file": "",
    "key_file": "",
    "client_ca_file": "",
    "min_version": "1.2"
  },
  "data_dir": "./data",
  "backup": {
    "dir": "./backups"
  },
  "console": {
    "enabled": true
  },
  "threads": 0,
  "durability": "fsync",
  "require_if_match": false,
  "limits": {
    "max_body_bytes": 1048576,
    "max_record_bytes": 2097152,
    "max_header_bytes": 16384,
    "max_json_depth": 64,
    "idle_timeout": 60,
    "header_timeout": 10,
    "body_timeout": 30,
    "write_timeout": 30,
    "drain_timeout": 10,
    "max_connections": 16384,
    "max_connections_per_address": 1024
  },
  "log": {
    "access": true
  },
  "node": {
    "id": ""
  },
  "store": {
    "engine": "rocksdb",
    "block_cache_mb": 128,
    "write_buffer_mb": 64,
    "postgres": {
      "conninfo": "",
      "schema": "reqstore",
      "pool": 4
    }
  },
  "webhooks": {
    "retry_schedule": [5, 30, 120, 600, 1800, 3600, 10800, 21600, 43200, 86400],
    "timeout": 10,
    "allow_networks": ["127.0.0.0/8", "::1/128"],
    "callback_secret": "whsec_cmVxc3RvcmUtZGV2ZWxvcG1lbnQtY2FsbGJhY2trZXk=",
    "secrets_key": "cmVxc3RvcmUtZGV2ZWxvcG1lbnQtc2VjcmV0cy1rZXk=",
    "ca_file": "",
    "disable_after": 432000,
    "max_in_flight": 256
  },
  "events": {
    "retention": 0
  },
  "auth": {
    "keys": [
      {
        "id": "dev",
        "secret_sha256": "298754db2dbab6ec62605ceb0379eb7ee376580359449efe0caa3aa06cd56736",
        "scopes": ["requests:read", "requests:write", "webhooks:manage", "admin"]
      },
      {
        "id": "dev-subject",
        "secret_sha256": "f7172dc66663bda26124cb1bfb00de7bf75a183a4a75c5bea9efbb38cc93c80e",
        "scopes": [],
        "subject": "subject-1"
      }
    ]
  },
  "types": {
    "request": {
      "id_format": "prefixed",
      "id_prefix": "req_",
      "states": ["pending", "active", "completed", "canceled"],
      "initial": "pending",
      "transitions": {
        "pending": ["active", "completed", "canceled"],
        "active": ["pending", "completed", "canceled"]
      },
      "final": ["completed", "canceled"],
      "additional_attributes": true
    },
    "docspring_data_request": {
      "id_format": "prefixed",
      "id_prefix": "drq_",
      "states": ["pending", "viewed", "completed"],
      "initial": "pending",
      "transitions": {
        "pending": ["viewed", "completed"],
        "viewed": ["completed"]
      },
      "final": ["completed"],
      "updatable_in": ["pending"],
      "timestamps": {
        "viewed": "viewed_at",
        "completed": "completed_at"
      },
      "attributes": {
        "email": {"type": "email", "required": true},
        "name": {"type": "string", "max_length": 200},
        "order": {"type": "integer", "min": 0, "default": 1},
        "fields": {"type": "array", "default": []},
        "auth_type": {
          "type": "enum",
          "enum": ["none", "password", "oauth", "email_link", "phone_number", "ldap", "saml"]
        },
        "auth_second_factor_type": {
          "type": "enum",
          "enum": ["none", "phone_number", "totp", "mobile_push", "security_key", "fingerprint"]
        },
        "auth_provider": {"type": "string", "max_length": 200},
        "auth_session_started_at": {"type": "datetime"},
        "auth_session_id_hash": {"type": "string", "max_length": 200},
        "auth_user_id_hash": {"type": "string", "max_length": 200},
        "auth_username_hash": {"type": "string", "max_length": 200},
        "auth_phone_number_hash": {"type": "string", "max_length": 200},
        "viewed_at": {"type": "datetime", "read_only": true},
        "completed_at": {"type": "datetime", "read_only": true}
      },
      "requires": {
        "completed": ["auth_type"]
      }
    },
    "box_file_request": {
      "id_format": "numeric",
      "states": ["active", "inactive"],
      "initial": "active",
      "transitions": {
        "active": ["inactive"],
        "inactive": ["active"]
      },
      "expires": {"attribute": "expires_at", "state": "inactive"},
      "attributes": {
        "title": {"type": "string", "required": true, "max_length": 255},
        "description": {"type": "string", "max_length": 10000},
        "is_email_required": {"type": "boolean", "default": false},
        "is_description_required": {"type": "boolean", "default": false},
        "expires_at": {"type": "datetime"},
        "folder": {"type": "object", "required": true, "read_only": true},
        "url": {"type": "string", "read_only": true}
      }
    },
    "autodesk_data_request": {
      "id_format": "uuid",
      "states": ["active", "inactive"],
      "initial": "active",
      "transitions": {
        "active": ["inactive"],
        "inactive": ["active"]
      },
      "attributes": {
        "account_id": {"type": "uuid", "required": true, "read_only": true},
        "description": {"type": "string", "max_length": 1000},
        "schedule_interval": {"type": "enum", "enum": ["ONE_TIME", "DAY", "WEEK", "MONTH", "YEAR"], "default": "ONE_TIME"},
        "reoccuring_interval": {"type": "integer", "min": 1, "max": 1000},
        "effective_from": {"type": "datetime"},
        "effective_to": {"type": "datetime"},
        "service_groups": {"type": "array", "default": []},
        "send_email": {"type": "boolean", "default": true},
        "project_id": {"type": "uuid"},
        "project_id_list": {"type": "array"},
        "start_date": {"type": "datetime"},
        "end_date": {"type": "datetime"},
        "last_queued_at": {"type": "datetime", "read_only": true},
        "date_range": {"type": "string", "max_length": 100},
        "project_status": {"type": "string", "max_length": 100},
        "created_by_email": {"type": "email", "read_only": true}
      }
    },
    "jsonapi_request": {
      "id_format": "uuid",
      "states": ["PENDING", "IN_PROGRESS", "COMPLETED", "FAILED"],
      "initial": "PENDING",
      "transitions": {
        "PENDING": ["IN_PROGRESS", "COMPLETED", "FAILED"],
        "IN_PROGRESS": ["PENDING", "COMPLETED", "FAILED"]
      },
      "final": ["COMPLETED", "FAILED"],
      "timestamps": {
        "COMPLETED": "completed_at"
      },
      "attributes": {
        "request_id": {"type": "string", "read_only": true, "max_length": 200},
        "requested_by": {"type": "string", "read_only": true, "max_length": 200},
        "note_id": {"type": "uuid"},
        "community_server_id": {"type": "string", "read_only": true, "max_length": 200},
        "requested_at": {"type": "datetime", "read_only": true},
        "completed_at": {"type": "datetime", "read_only": true},
        "content": {"type": "string", "read_only": true, "max_length": 100000},
        "platform_message_id": {"type": "string", "read_only": true, "max_length": 200},
        "platform_channel_id": {"type": "string", "read_only": true, "max_length": 200},
        "similarity_score": {"type": "number", "read_only": true, "min": 0},
        "dataset_name": {"type": "string", "read_only": true, "max_length": 200},
        "dataset_item_id": {"type": "string", "read_only": true, "max_length": 200}
      }
    },
    "dsr": {
      "id_format": "prefixed",
      "id_prefix": "dsr_",
      "require_if_match": false,
      "states": ["draft", "submitted", "in_progress", "completed", "rejected", "canceled"],
      "initial": "draft",
      "transitions": {
        "draft": ["submitted", "canceled"],
        "submitted": ["in_progress", "rejected", "canceled"],
        "in_progress": ["completed", "rejected"]
      },
      "final": ["completed", "rejected", "canceled"],
      "updatable_in": ["draft", "submitted", "in_progress"],
      "timestamps": {
        "submitted": "submitted_at"
      },
      "attributes": {
        "type_id": {"type": "string", "required": true, "max_length": 100, "mutable_in": ["draft"]},
        "owner": {"type": "object", "mutable_in": ["draft"]},
        "labels": {"type": "array", "default": []},
        "data": {"type": "object", "default": {}},
        "due_date": {"type": "datetime"},
        "portal_url": {"type": "url"},
        "attachments": {"type": "object", "default": {}},
        "submitted_at": {"type": "datetime", "read_only": true}
      },
      "requires": {
        "submitted": ["owner", "data", "attachments"]
      },
      "dsr_types": {
        "access": {
          "data": {
            "email": {"type": "email", "required": true},
            "full_name": {"type": "string", "required": true, "max_length": 200},
            "reason": {"type": "string", "max_length": 2000}
          },
          "attachments": {
            "id_document": {"required": true, "content_types": ["image/png", "image/jpeg", "application/pdf"],
                            "max_bytes": 524288}
          }
        },
        "erasure": {
          "data": {
            "email": {"type": "email", "required": true},
            "scope": {"type": "enum", "enum": ["all", "marketing"], "required": true}
          },
          "attachments": {}
        }
      }
    }
  }
}
)json";

} // namespace

std::string_view default_config_text()
{
    return defaults_text;
}

} // namespace reqstore::app
