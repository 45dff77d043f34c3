// Generated from docs/openapi.json by console/scripts/generate-schema.mjs: do not edit.
export interface paths {
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness */
        get: operations["getHealth"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/readyz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Readiness */
        get: operations["getReadiness"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Prometheus metrics */
        get: operations["getMetrics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/openapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** This document */
        get: operations["getOpenApi"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/requests": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List records */
        get: operations["listRequests"];
        put?: never;
        /** Create a record with a generated id */
        post: operations["createRequest"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/requests/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Read a record */
        get: operations["getRequest"];
        /** Create under this id (If-None-Match: *) or update partially */
        put: operations["putRequest"];
        post?: never;
        /** Delete (a tombstone version; history stays) */
        delete: operations["deleteRequest"];
        options?: never;
        head?: never;
        /** Update with a merge patch or a JSON Patch */
        patch: operations["patchRequest"];
        trace?: never;
    };
    "/v1/requests/{id}/versions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A record's history, newest first */
        get: operations["listRequestVersions"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/requests/{id}/versions/{n}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A record at one version */
        get: operations["getRequestVersion"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The change feed */
        get: operations["listEvents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/events/stream": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The change feed as Server-Sent Events */
        get: operations["streamEvents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhooks": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Subscriptions */
        get: operations["listWebhooks"];
        put?: never;
        /** Subscribe */
        post: operations["createWebhook"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhooks/{wid}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A subscription */
        get: operations["getWebhook"];
        put?: never;
        post?: never;
        /** Unsubscribe; open deliveries end as dead */
        delete: operations["deleteWebhook"];
        options?: never;
        head?: never;
        /** Change a subscription */
        patch: operations["updateWebhook"];
        trace?: never;
    };
    "/v1/webhooks/{wid}/deliveries": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The delivery log */
        get: operations["listWebhookDeliveries"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhooks/{wid}/recover": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Queue again every event since a time */
        post: operations["recoverWebhook"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/deliveries/{did}/retry": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Retry a failed or dead delivery */
        post: operations["retryDelivery"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/backup": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Take an online backup (embedded engine) */
        post: operations["createBackup"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/backups": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The complete backups, oldest first */
        get: operations["listBackups"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/whoami": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The calling key */
        get: operations["whoami"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/types": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Every configured request type */
        get: operations["listTypes"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export interface webhooks {
    "request.created": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Sent for request.created */
        post: operations["webhook_request_created"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "request.updated": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Sent for request.updated */
        post: operations["webhook_request_updated"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "request.status_changed": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Sent for request.status_changed */
        post: operations["webhook_request_status_changed"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "request.deleted": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Sent for request.deleted */
        post: operations["webhook_request_deleted"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "webhook.disabled": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Sent to the other subscriptions when one is disabled */
        post: operations["webhook_webhook_disabled"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export interface components {
    schemas: {
        Problem: {
            type: string;
            title: string;
            status: number;
            detail?: string;
            instance?: string;
            errors?: {
                [key: string]: string;
            };
            allowed?: string[];
            current_etag?: string;
        } & {
            [key: string]: unknown;
        };
        Status: {
            status: string;
        };
        Record: {
            id: string;
            type: string;
            status: string;
            version: number;
            etag: string;
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            updated_at: string;
            created_by?: string | null;
            updated_by?: string | null;
            callback_url: string | null;
            metadata: Record<string, never>;
            /** Format: date-time */
            deleted_at?: string;
        } & {
            [key: string]: unknown;
        };
        RecordCreate: {
            type: string;
            status?: string;
            metadata?: Record<string, never>;
            callback_url?: string | null;
        } & {
            [key: string]: unknown;
        };
        RecordWrite: {
            type?: string;
            status?: string;
            metadata?: Record<string, never>;
            callback_url?: string | null;
        } & {
            [key: string]: unknown;
        };
        MergePatch: {
            [key: string]: unknown;
        };
        JsonPatch: {
            /** @enum {unknown} */
            op: "add" | "remove" | "replace" | "move" | "copy" | "test";
            path: string;
            from?: string;
            value?: unknown;
        }[];
        RecordPage: {
            data: components["schemas"]["Record"][];
            next_cursor: string | null;
        };
        Version: {
            version: number;
            etag: string;
            status: string;
            /** Format: date-time */
            updated_at: string;
            updated_by?: string | null;
            changed: string[];
            deleted?: boolean;
        };
        VersionPage: {
            data: components["schemas"]["Version"][];
            next_cursor: string | null;
        };
        FeedEntry: {
            seq: number;
            event: string;
            id: string;
            type: string;
            version: number;
            status: string;
            from?: string;
            /** Format: date-time */
            at: string;
        };
        FeedPage: {
            data: components["schemas"]["FeedEntry"][];
            next_after: number;
            /** @description The newest sequence number the server held when it answered: a reader that wants only what comes next follows the stream from after it */
            last_seq: number;
        };
        SubscriptionCreate: {
            /** Format: uri */
            url: string;
            events: string[];
            types?: string[];
            secret?: string;
            enabled?: boolean;
        };
        SubscriptionUpdate: {
            /** Format: uri */
            url?: string;
            events?: string[];
            types?: string[];
            enabled?: boolean;
        };
        Subscription: {
            id: string;
            url: string;
            events: string[];
            types: string[];
            enabled: boolean;
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            updated_at: string;
            failing_since: string | null;
            disabled_reason: string | null;
        };
        SubscriptionWithSecret: components["schemas"]["Subscription"] & {
            secret: string;
        };
        SubscriptionList: {
            data: components["schemas"]["Subscription"][];
        };
        Attempt: {
            /** Format: date-time */
            at: string;
            status: number | null;
            latency_us: number;
            error: string | null;
        };
        Delivery: {
            id: string;
            event: string;
            webhook_id: string;
            record_id: string;
            version: number;
            url: string;
            /** @enum {unknown} */
            status: "pending" | "failed" | "succeeded" | "dead";
            attempts: components["schemas"]["Attempt"][];
            /** Format: date-time */
            created_at: string;
            next_attempt_at: string | null;
        };
        DeliveryPage: {
            data: components["schemas"]["Delivery"][];
            next_cursor: string | null;
        };
        RecoverRequest: {
            /** Format: date-time */
            since: string;
        };
        RecoverAnswer: {
            queued: number;
        };
        Backup: {
            id: string;
            sequence: number;
            bytes: number;
            /** Format: date-time */
            created_at: string;
        };
        BackupList: {
            data: components["schemas"]["Backup"][];
        };
        Whoami: {
            id: string;
            scopes: string[];
            rate_limit: {
                per_second: number;
                burst: number;
            } | null;
            subject: string | null;
        };
        Type: {
            name: string;
            id_format: Record<string, never>;
            states: string[];
            initial: string;
            transitions: {
                [key: string]: string[];
            };
            final: string[];
            require_if_match: boolean;
            attributes: Record<string, never>;
        } & {
            [key: string]: unknown;
        };
        TypeList: {
            data: components["schemas"]["Type"][];
        };
        RequestEvent: {
            /** @enum {unknown} */
            type: "request.created" | "request.updated" | "request.status_changed" | "request.deleted";
            /** Format: date-time */
            timestamp: string;
            data: {
                id: string;
                type: string;
                from: string | null;
                to: string;
                version: number;
                request: components["schemas"]["Record"];
            };
        };
        WebhookDisabledEvent: {
            /** @constant */
            type: "webhook.disabled";
            /** Format: date-time */
            timestamp: string;
            data: {
                id: string;
                url: string;
                reason: string;
            };
        };
    };
    responses: {
        /** @description Bad request: malformed-json, malformed-patch, validation-failed, read-only-field, invalid-id or bad-request */
        BadRequest: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description No valid credentials */
        Unauthorized: {
            headers: {
                "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The key lacks the route's scope */
        Forbidden: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description No such record, version, subscription or delivery */
        NotFound: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description invalid-transition, not-updatable-in-state, patch-test-failed or idempotency-conflict (in flight) */
        Conflict: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The record was deleted */
        Gone: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description A precondition does not hold; current_etag names the current version */
        PreconditionFailed: {
            headers: {
                ETag: components["headers"]["ETag"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description payload-too-large or record-too-large */
        PayloadTooLarge: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The body's media type is not taken */
        UnsupportedMediaType: {
            headers: {
                "Accept-Patch": components["headers"]["AcceptPatch"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description requirements-missing, invalid-patch-path or idempotency-conflict (another request) */
        Unprocessable: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The type requires If-Match on this write */
        PreconditionRequired: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The key used its rate */
        RateLimited: {
            headers: {
                "Retry-After": components["headers"]["RetryAfter"];
                RateLimit: components["headers"]["RateLimit"];
                "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The server failed; the detail says nothing internal */
        InternalError: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The store engine does not do this (a backup on PostgreSQL) */
        NotImplemented: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description unavailable (draining, writes stopped) or store-unavailable */
        Unavailable: {
            headers: {
                "Retry-After": components["headers"]["RetryAfter"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
    };
    parameters: {
        /** @description The record's id (a format of one of the types) */
        RecordId: string;
        /** @description A version number */
        VersionNumber: number;
        /** @description A subscription's id */
        WebhookId: string;
        /** @description A delivery's id */
        DeliveryId: string;
        /** @description Entity-tags, or *; strong comparison */
        IfMatch: string;
        /** @description Entity-tags, or * (on PUT: create only if absent) */
        IfNoneMatch: string;
        /** @description An HTTP-date */
        IfModifiedSince: string;
        /** @description An HTTP-date */
        IfUnmodifiedSince: string;
        /** @description 1 to 255 printable ASCII characters, quoted or bare */
        IdempotencyKey: string;
        /** @description return=minimal answers 204 */
        Prefer: string;
        /** @description Only records of this type */
        TypeFilter: string;
        /** @description Only records in this state */
        StatusFilter: string;
        /** @description Only records updated at or after this time */
        UpdatedSince: string;
        /** @description Entries per page */
        Limit: number;
        /** @description Opaque, from next_cursor */
        Cursor: string;
        /** @description The feed position after which to read */
        After: number;
        /** @description Seconds to wait for an entry when there is none (long poll) */
        Wait: number;
        /** @description Resume after this seq */
        LastEventId: string;
        /** @description Only deliveries in this state */
        DeliveryStatus: "pending" | "failed" | "succeeded" | "dead";
    };
    requestBodies: never;
    headers: {
        /** @description The version as a strong entity-tag, "<version>" */
        ETag: string;
        /** @description The record's updated_at as an HTTP-date */
        LastModified: string;
        /** @description The new resource's path */
        Location: string;
        /** @description /v1/requests/{id} */
        ContentLocation: string;
        /** @description true when the answer is a stored one, replayed */
        IdempotentReplayed: string;
        /** @description return=minimal */
        PreferenceApplied: string;
        /** @description Seconds to wait */
        RetryAfter: string;
        /** @description The key's remaining tokens (draft-ietf-httpapi-ratelimit-headers) */
        RateLimit: string;
        /** @description The key's rate policy */
        RateLimitPolicy: string;
        /** @description Basic realm="reqstore", Bearer realm="reqstore" */
        WWWAuthenticate: string;
        /** @description The patch media types */
        AcceptPatch: string;
        /** @description The request's id, the client's X-Request-Id when it has a safe form */
        XRequestId: string;
    };
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    getHealth: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The process serves */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Status"];
                };
            };
        };
    };
    getReadiness: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ready to serve: store open, not draining */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Status"];
                };
            };
            /** @description Not ready */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Status"];
                };
            };
        };
    };
    getMetrics: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Prometheus text format 0.0.4 */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
        };
    };
    getOpenApi: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The OpenAPI document, byte-identical to docs/openapi.json */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": Record<string, never>;
                };
            };
        };
    };
    listRequests: {
        parameters: {
            query?: {
                /** @description Only records of this type */
                type?: components["parameters"]["TypeFilter"];
                /** @description Only records in this state */
                status?: components["parameters"]["StatusFilter"];
                /** @description Only records updated at or after this time */
                updated_since?: components["parameters"]["UpdatedSince"];
                /** @description Entries per page */
                limit?: components["parameters"]["Limit"];
                /** @description Opaque, from next_cursor */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of records in id order */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RecordPage"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    createRequest: {
        parameters: {
            query?: never;
            header?: {
                /** @description 1 to 255 printable ASCII characters, quoted or bare */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RecordCreate"];
            };
        };
        responses: {
            /** @description Created */
            201: {
                headers: {
                    Location: components["headers"]["Location"];
                    ETag: components["headers"]["ETag"];
                    "Idempotent-Replayed": components["headers"]["IdempotentReplayed"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Record"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            422: components["responses"]["Unprocessable"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    getRequest: {
        parameters: {
            query?: never;
            header?: {
                /** @description Entity-tags, or *; strong comparison */
                "If-Match"?: components["parameters"]["IfMatch"];
                /** @description Entity-tags, or * (on PUT: create only if absent) */
                "If-None-Match"?: components["parameters"]["IfNoneMatch"];
                /** @description An HTTP-date */
                "If-Modified-Since"?: components["parameters"]["IfModifiedSince"];
                /** @description An HTTP-date */
                "If-Unmodified-Since"?: components["parameters"]["IfUnmodifiedSince"];
            };
            path: {
                /** @description The record's id (a format of one of the types) */
                id: components["parameters"]["RecordId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The record */
            200: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    "Last-Modified": components["headers"]["LastModified"];
                    "X-Request-Id": components["headers"]["XRequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Record"];
                };
            };
            /** @description Not modified (If-None-Match or If-Modified-Since) */
            304: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            410: components["responses"]["Gone"];
            412: components["responses"]["PreconditionFailed"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    putRequest: {
        parameters: {
            query?: never;
            header?: {
                /** @description Entity-tags, or *; strong comparison */
                "If-Match"?: components["parameters"]["IfMatch"];
                /** @description Entity-tags, or * (on PUT: create only if absent) */
                "If-None-Match"?: components["parameters"]["IfNoneMatch"];
                /** @description An HTTP-date */
                "If-Unmodified-Since"?: components["parameters"]["IfUnmodifiedSince"];
                /** @description 1 to 255 printable ASCII characters, quoted or bare */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
                /** @description return=minimal answers 204 */
                Prefer?: components["parameters"]["Prefer"];
            };
            path: {
                /** @description The record's id (a format of one of the types) */
                id: components["parameters"]["RecordId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RecordWrite"];
            };
        };
        responses: {
            /** @description Updated (or unchanged) */
            200: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    "Content-Location": components["headers"]["ContentLocation"];
                    "Idempotent-Replayed": components["headers"]["IdempotentReplayed"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Record"];
                };
            };
            /** @description Created */
            201: {
                headers: {
                    Location: components["headers"]["Location"];
                    ETag: components["headers"]["ETag"];
                    "Idempotent-Replayed": components["headers"]["IdempotentReplayed"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Record"];
                };
            };
            /** @description Updated, with Prefer: return=minimal */
            204: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    "Preference-Applied": components["headers"]["PreferenceApplied"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            410: components["responses"]["Gone"];
            412: components["responses"]["PreconditionFailed"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            422: components["responses"]["Unprocessable"];
            428: components["responses"]["PreconditionRequired"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    deleteRequest: {
        parameters: {
            query?: never;
            header?: {
                /** @description Entity-tags, or *; strong comparison */
                "If-Match"?: components["parameters"]["IfMatch"];
                /** @description Entity-tags, or * (on PUT: create only if absent) */
                "If-None-Match"?: components["parameters"]["IfNoneMatch"];
                /** @description An HTTP-date */
                "If-Unmodified-Since"?: components["parameters"]["IfUnmodifiedSince"];
                /** @description 1 to 255 printable ASCII characters, quoted or bare */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                /** @description The record's id (a format of one of the types) */
                id: components["parameters"]["RecordId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted */
            204: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            410: components["responses"]["Gone"];
            412: components["responses"]["PreconditionFailed"];
            428: components["responses"]["PreconditionRequired"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    patchRequest: {
        parameters: {
            query?: never;
            header?: {
                /** @description Entity-tags, or *; strong comparison */
                "If-Match"?: components["parameters"]["IfMatch"];
                /** @description Entity-tags, or * (on PUT: create only if absent) */
                "If-None-Match"?: components["parameters"]["IfNoneMatch"];
                /** @description An HTTP-date */
                "If-Unmodified-Since"?: components["parameters"]["IfUnmodifiedSince"];
                /** @description 1 to 255 printable ASCII characters, quoted or bare */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
                /** @description return=minimal answers 204 */
                Prefer?: components["parameters"]["Prefer"];
            };
            path: {
                /** @description The record's id (a format of one of the types) */
                id: components["parameters"]["RecordId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/merge-patch+json": components["schemas"]["MergePatch"];
                "application/json": components["schemas"]["MergePatch"];
                "application/json-patch+json": components["schemas"]["JsonPatch"];
            };
        };
        responses: {
            /** @description Updated (or unchanged) */
            200: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    "Content-Location": components["headers"]["ContentLocation"];
                    "Idempotent-Replayed": components["headers"]["IdempotentReplayed"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Record"];
                };
            };
            /** @description Updated, with Prefer: return=minimal */
            204: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    "Preference-Applied": components["headers"]["PreferenceApplied"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            410: components["responses"]["Gone"];
            412: components["responses"]["PreconditionFailed"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            422: components["responses"]["Unprocessable"];
            428: components["responses"]["PreconditionRequired"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    listRequestVersions: {
        parameters: {
            query?: {
                /** @description Entries per page */
                limit?: components["parameters"]["Limit"];
                /** @description Opaque, from next_cursor */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path: {
                /** @description The record's id (a format of one of the types) */
                id: components["parameters"]["RecordId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of versions */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["VersionPage"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    getRequestVersion: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The record's id (a format of one of the types) */
                id: components["parameters"]["RecordId"];
                /** @description A version number */
                n: components["parameters"]["VersionNumber"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The record at that version */
            200: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Record"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    listEvents: {
        parameters: {
            query?: {
                /** @description The feed position after which to read */
                after?: components["parameters"]["After"];
                /** @description Entries per page */
                limit?: components["parameters"]["Limit"];
                /** @description Seconds to wait for an entry when there is none (long poll) */
                wait?: components["parameters"]["Wait"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Entries after the position */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FeedPage"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    streamEvents: {
        parameters: {
            query?: {
                /** @description The feed position after which to read */
                after?: components["parameters"]["After"];
            };
            header?: {
                /** @description Resume after this seq */
                "Last-Event-ID"?: components["parameters"]["LastEventId"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description An event stream: each entry an event whose id is its seq and whose data is a FeedEntry */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/event-stream": string;
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    listWebhooks: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every subscription, without secrets */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SubscriptionList"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    createWebhook: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SubscriptionCreate"];
            };
        };
        responses: {
            /** @description Created; the secret is shown only here */
            201: {
                headers: {
                    Location: components["headers"]["Location"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SubscriptionWithSecret"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    getWebhook: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A subscription's id */
                wid: components["parameters"]["WebhookId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The subscription */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Subscription"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    deleteWebhook: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A subscription's id */
                wid: components["parameters"]["WebhookId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    updateWebhook: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A subscription's id */
                wid: components["parameters"]["WebhookId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SubscriptionUpdate"];
            };
        };
        responses: {
            /** @description The subscription */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Subscription"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    listWebhookDeliveries: {
        parameters: {
            query?: {
                /** @description Only deliveries in this state */
                status?: components["parameters"]["DeliveryStatus"];
                /** @description Entries per page */
                limit?: components["parameters"]["Limit"];
                /** @description Opaque, from next_cursor */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path: {
                /** @description A subscription's id */
                wid: components["parameters"]["WebhookId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of deliveries, oldest first */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DeliveryPage"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    recoverWebhook: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A subscription's id */
                wid: components["parameters"]["WebhookId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RecoverRequest"];
            };
        };
        responses: {
            /** @description Queued */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RecoverAnswer"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    retryDelivery: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A delivery's id */
                did: components["parameters"]["DeliveryId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Queued again */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Delivery"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    createBackup: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Written */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Backup"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            501: components["responses"]["NotImplemented"];
            503: components["responses"]["Unavailable"];
        };
    };
    listBackups: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The backups */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BackupList"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            501: components["responses"]["NotImplemented"];
            503: components["responses"]["Unavailable"];
        };
    };
    whoami: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The key, without its secret */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Whoami"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    listTypes: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The types */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TypeList"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    webhook_request_created: {
        parameters: {
            query?: never;
            header: {
                /** @description evt_<sequence>: the same on every attempt */
                "webhook-id": string;
                /** @description Unix seconds */
                "webhook-timestamp": string;
                /** @description v1,<base64 HMAC-SHA256> (Standard Webhooks) */
                "webhook-signature": string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RequestEvent"];
            };
        };
        responses: {
            /** @description Delivered; anything else is a failed attempt, retried */
            "2XX": {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    webhook_request_updated: {
        parameters: {
            query?: never;
            header: {
                /** @description evt_<sequence>: the same on every attempt */
                "webhook-id": string;
                /** @description Unix seconds */
                "webhook-timestamp": string;
                /** @description v1,<base64 HMAC-SHA256> (Standard Webhooks) */
                "webhook-signature": string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RequestEvent"];
            };
        };
        responses: {
            /** @description Delivered; anything else is a failed attempt, retried */
            "2XX": {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    webhook_request_status_changed: {
        parameters: {
            query?: never;
            header: {
                /** @description evt_<sequence>: the same on every attempt */
                "webhook-id": string;
                /** @description Unix seconds */
                "webhook-timestamp": string;
                /** @description v1,<base64 HMAC-SHA256> (Standard Webhooks) */
                "webhook-signature": string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RequestEvent"];
            };
        };
        responses: {
            /** @description Delivered; anything else is a failed attempt, retried */
            "2XX": {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    webhook_request_deleted: {
        parameters: {
            query?: never;
            header: {
                /** @description evt_<sequence>: the same on every attempt */
                "webhook-id": string;
                /** @description Unix seconds */
                "webhook-timestamp": string;
                /** @description v1,<base64 HMAC-SHA256> (Standard Webhooks) */
                "webhook-signature": string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RequestEvent"];
            };
        };
        responses: {
            /** @description Delivered; anything else is a failed attempt, retried */
            "2XX": {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    webhook_webhook_disabled: {
        parameters: {
            query?: never;
            header: {
                /** @description evt_<sequence>: the same on every attempt */
                "webhook-id": string;
                /** @description Unix seconds */
                "webhook-timestamp": string;
                /** @description v1,<base64 HMAC-SHA256> (Standard Webhooks) */
                "webhook-signature": string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["WebhookDisabledEvent"];
            };
        };
        responses: {
            /** @description Delivered; anything else is a failed attempt, retried */
            "2XX": {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
}
