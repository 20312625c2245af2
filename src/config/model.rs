//! The config file as written: typed, strict (`deny_unknown_fields`) structs with source spans.
//!
//! These types mirror CONTRACT §2. Strings keep their [`Spanned`] location so that every problem
//! found later (a missing `${VAR}`, an unknown upstream, a bad template) points at its node.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

/// A string from the config with its location; may contain `${VAR}` / `${VAR:-default}`.
pub type Text = Spanned<String>;

/// A whole number from the config with its location: written as a number (`65536`) or as a
/// string with `${VAR}` (`"${MAX_BYTES:-65536}"`), typed after substitution.
pub type Number = Spanned<Scalar>;

/// A scalar as written, kept as text until `${VAR}`s are substituted and it is typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number, or a string with ${VAR}")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_owned()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// How a [`Number`] looks in the JSON Schema: an integer, or a string holding `${VAR}`.
pub struct WholeOrVar;

impl schemars::JsonSchema for WholeOrVar {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "WholeOrVar".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // `minimum` constrains only numbers and `pattern` only strings.
        schemars::json_schema!({
            "type": ["integer", "string"],
            "minimum": 0,
            "pattern": "\\$\\{",
        })
    }
}

/// One config file: the main file or an included one.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Server settings; only allowed in the main file.
    #[schemars(with = "Option<ServerSection>")]
    pub server: Option<Spanned<ServerSection>>,
    /// Glob patterns of more files to load, relative to this file; only in the main file.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub include: Vec<Text>,
    /// Upstream REST APIs by name.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, UpstreamSection>")]
    pub upstreams: BTreeMap<String, Spanned<UpstreamSection>>,
    /// The tools the gateway serves, in listing order. A reload that would leave no tool at
    /// all is refused unless a file says `tools: []` (an empty or comment-only file is far
    /// more likely a mistake than a wish to serve nothing).
    // Each entry is boxed, so the list's spare capacity costs a pointer, not a whole entry.
    #[serde(default)]
    #[schemars(with = "Vec<ToolSection>")]
    pub tools: Option<Vec<Spanned<Box<ToolSection>>>>,
    /// Read-only data exposed as MCP resources.
    #[serde(default)]
    #[schemars(with = "Vec<ResourceSection>")]
    pub resources: Vec<Spanned<ResourceSection>>,
    /// Families of resources whose URIs follow a template (`resources/templates/list`); a
    /// `resources/read` of a matching URI fills the request with the captured values.
    #[serde(default)]
    #[schemars(with = "Vec<ResourceTemplateSection>")]
    pub resource_templates: Vec<Spanned<ResourceTemplateSection>>,
    /// Reusable message templates for MCP clients (`prompts/list`, `prompts/get`), in
    /// listing order; may also be declared in included files.
    #[serde(default)]
    #[schemars(with = "Vec<PromptSection>")]
    pub prompts: Vec<Spanned<PromptSection>>,
    /// Caller authentication; omit it (or set `mode: none`) for an open gateway.
    #[schemars(with = "Option<AuthSection>")]
    pub auth: Option<Spanned<AuthSection>>,
    /// Rate-limit tiers and where their state lives.
    #[schemars(with = "Option<RateLimitsSection>")]
    pub rate_limits: Option<Spanned<RateLimitsSection>>,
    /// Operator endpoints under `/admin/`; off when absent.
    #[schemars(with = "Option<AdminSection>")]
    pub admin: Option<Spanned<AdminSection>>,
    /// OpenTelemetry traces exported over OTLP/HTTP; only in the main file. Off unless an
    /// endpoint is set here or in `OTEL_EXPORTER_OTLP_ENDPOINT`. Read when the gateway
    /// starts: a change needs a restart.
    #[schemars(with = "Option<TelemetrySection>")]
    pub telemetry: Option<Spanned<TelemetrySection>>,
}

/// `telemetry:`: where traces go. Every key falls back to the standard `OTEL_*` variable.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySection {
    /// Export traces (default: yes when an endpoint is known). `false` turns them off
    /// whatever the environment says.
    pub enabled: Option<bool>,
    /// The collector's OTLP/HTTP base URL, e.g. `http://otel-collector:4318`; spans are
    /// POSTed as protobuf to `<endpoint>/v1/traces`. Default: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
    /// (used as it is), then `OTEL_EXPORTER_OTLP_ENDPOINT`.
    #[schemars(with = "Option<String>")]
    pub otlp_endpoint: Option<Text>,
    /// The spans' `service.name` (default `OTEL_SERVICE_NAME`, else `toolgate`).
    #[schemars(with = "Option<String>")]
    pub service_name: Option<Text>,
    /// Share of new traces kept, from 0.0 to 1.0 (default 1.0). A trace the client started
    /// keeps the client's decision (its `traceparent` sampled flag).
    #[schemars(with = "Option<f64>")]
    pub sample_ratio: Option<Spanned<f64>>,
    /// Headers sent with every export, e.g. `Authorization: "Bearer ${OTEL_TOKEN}"`
    /// (default `OTEL_EXPORTER_OTLP_HEADERS`). Never logged.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub headers: BTreeMap<String, Text>,
}

/// `admin:`: the operator endpoints (`GET /admin/config`, `GET /admin/tools`,
/// `POST /admin/reload`).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminSection {
    /// The admin key, sent as `Authorization: Bearer <key>`; normally `${TOOLGATE_ADMIN_KEY}`.
    #[schemars(with = "String")]
    pub key: Text,
    /// When true, `GET /metrics` also needs the admin key (default false: `/metrics` is open,
    /// so bind the gateway where only the scraper reaches it, or turn this on).
    #[serde(default)]
    pub protect_metrics: bool,
}

/// `server:`: where and how the gateway listens.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// Address to listen on, e.g. `0.0.0.0:8766` (default `127.0.0.1:8766`).
    #[schemars(with = "Option<String>")]
    pub listen: Option<Text>,
    /// The public URL clients use, e.g. `https://mcp.example.com`; its origin and host are allowed.
    #[schemars(with = "Option<String>")]
    pub public_url: Option<Text>,
    /// Largest accepted request body in bytes (default 1 MiB); larger requests get 413.
    #[schemars(with = "Option<WholeOrVar>")]
    pub max_body_bytes: Option<Number>,
    /// Browser `Origin`s allowed besides loopback and `public_url`'s; others get 403.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub allowed_origins: Vec<Text>,
    /// `Host` values accepted besides loopback names and `public_url`'s host; `["*"]` for any.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub allowed_hosts: Vec<Text>,
    /// Page size of `tools/list` and `resources/list` (default 50).
    #[schemars(with = "Option<WholeOrVar>")]
    pub page_size: Option<Number>,
    /// Secret that signs MCP session ids, so that every replica sharing it accepts sessions
    /// issued by another (default: a fixed built-in key; session ids carry no privilege).
    #[schemars(with = "Option<String>")]
    pub session_secret: Option<Text>,
    /// How config changes are picked up.
    #[serde(default)]
    pub reload: ReloadSection,
    /// Allow upstreams at link-local addresses (169.254.0.0/16, fe80::/10, where cloud
    /// metadata services live, also written as IPv4-compatible, IPv4-mapped or NAT64
    /// `64:ff9b::/96` IPv6) and unspecified ones (0.0.0.0/8, `::`, which reach this host);
    /// default false: refused in `base_url` and in DNS answers. Needs a restart to change.
    #[serde(default)]
    pub allow_link_local_upstreams: bool,
}

/// `server.reload:`: how config changes are noticed.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReloadSection {
    /// Watch the config files' directories for changes (default true).
    pub watch: Option<bool>,
    /// Also check the files this often, e.g. `2s` (for file systems without change events).
    #[schemars(with = "Option<String>")]
    pub poll_interval: Option<Text>,
    /// Quiet time after a change before reloading (default 200ms).
    #[schemars(with = "Option<String>")]
    pub debounce: Option<Text>,
}

/// `upstreams.<name>`: one REST API the tools call.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSection {
    /// Scheme, host, port and optional path prefix, e.g. `http://127.0.0.1:9101/api`. User
    /// info (`http://user:${PASS}@host/api`, percent-encoded) is sent as HTTP Basic auth, shown
    /// as `***`, and cannot be combined with an `Authorization` header.
    #[schemars(with = "String")]
    pub base_url: Text,
    /// Time allowed for a whole call, e.g. `5s` (default 30s); a tool's `timeout` overrides it.
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Text>,
    /// Headers injected into every call (credentials from `${VAR}`); never shown to callers.
    /// Sent in the order written.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub headers: IndexMap<String, Text>,
    /// Largest upstream answer accepted, in bytes (default 1 MiB); more is an `upstream_error`.
    /// A parsed JSON answer can take up to ~18 times its size in memory.
    #[schemars(with = "Option<WholeOrVar>")]
    pub max_response_bytes: Option<Number>,
    /// Headers by caller organisation, added to (and overriding) `headers` for callers of that
    /// org, e.g. a different upstream credential per customer.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, BTreeMap<String, String>>")]
    pub headers_by_org: BTreeMap<String, IndexMap<String, Text>>,
    /// At most this many calls at once to this upstream (default: no limit); excess calls wait
    /// up to `queue_timeout`, then fail with `upstream_error`.
    #[schemars(with = "Option<WholeOrVar>")]
    pub max_concurrency: Option<Number>,
    /// How long an excess call waits for a free slot (default 1s).
    #[schemars(with = "Option<String>")]
    pub queue_timeout: Option<Text>,
    /// Retries of idempotent calls (GET, HEAD, OPTIONS, PUT, DELETE) on connection failures and
    /// 502/503/504, with jittered exponential backoff (default 2; 0 turns retries off). POST
    /// and PATCH are never retried.
    #[schemars(with = "Option<WholeOrVar>")]
    pub retries: Option<Number>,
    /// Base backoff between retries (default 50ms).
    #[schemars(with = "Option<String>")]
    pub retry_backoff: Option<Text>,
    /// Consecutive failures (connection errors, timeouts, 5xx) that open the circuit breaker
    /// (default 5); while open, calls fail fast with `upstream_error`.
    #[schemars(with = "Option<WholeOrVar>")]
    pub breaker_failures: Option<Number>,
    /// How long the breaker stays open before one probe call is let through (default 10s).
    #[schemars(with = "Option<String>")]
    pub breaker_open_for: Option<Text>,
    /// TLS settings of this upstream: extra trusted roots and a client certificate (mutual
    /// TLS). Calls to it then use a client of their own.
    #[schemars(with = "Option<UpstreamTlsSection>")]
    pub tls: Option<Spanned<UpstreamTlsSection>>,
    /// Egress proxy for this upstream's calls and its token endpoint: an `http://` or
    /// `https://` URL such as `http://proxy.internal:3128` (user info, e.g. from `${VAR}`, is
    /// sent as `Proxy-Authorization: Basic`), or `from_env` to use `HTTPS_PROXY`,
    /// `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`. Without it calls go direct: the proxy
    /// variables of the environment are never used otherwise. The rendered request still
    /// stays inside `base_url`, and the target host is refused when it resolves to a
    /// link-local address (unless `server.allow_link_local_upstreams`).
    #[schemars(with = "Option<String>")]
    pub proxy: Option<Text>,
    /// Hosts reached directly despite `proxy` (for the token endpoint, say): host names,
    /// `.domain` or `*.domain` (the domain and its subdomains), IP addresses, CIDR ranges
    /// (`10.0.0.0/8`), or `*` for every host.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub no_proxy: Vec<Text>,
    /// How the gateway authenticates to this upstream, besides static `headers`: exactly one
    /// of `oauth2_client_credentials`, `token_exchange` or `identity_assertion`.
    #[schemars(with = "Option<UpstreamAuthSection>")]
    pub auth: Option<Spanned<UpstreamAuthSection>>,
}

/// `upstreams.<name>.tls:`: trusted roots and client identity. Paths are relative to the file
/// that names them; every file is read and checked when the config loads.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpstreamTlsSection {
    /// PEM file of CA certificates trusted for this upstream, in addition to the built-in
    /// roots (e.g. an internal CA).
    #[schemars(with = "Option<String>")]
    pub ca_file: Option<Text>,
    /// PEM file of the client certificate (chain) presented to the upstream (mutual TLS);
    /// needs `client_key_file`.
    #[schemars(with = "Option<String>")]
    pub client_cert_file: Option<Text>,
    /// PEM file of the client certificate's private key (PKCS#8, RSA or SEC1).
    #[schemars(with = "Option<String>")]
    pub client_key_file: Option<Text>,
}

/// `upstreams.<name>.auth:`: exactly one way of obtaining upstream credentials per call.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpstreamAuthSection {
    /// OAuth 2.0 client credentials grant (RFC 6749 §4.4): one token per upstream, cached,
    /// refreshed at 80 % of its lifetime, sent as `Authorization: Bearer <token>`.
    #[schemars(with = "Option<OAuthClientSection>")]
    pub oauth2_client_credentials: Option<Spanned<OAuthClientSection>>,
    /// OAuth 2.0 token exchange (RFC 8693): the caller's JWT is traded for an upstream token
    /// (cached per caller token until it expires). Only for callers authenticated by JWT.
    #[schemars(with = "Option<OAuthClientSection>")]
    pub token_exchange: Option<Spanned<OAuthClientSection>>,
    /// A short-lived JWT the gateway signs for every call, naming the caller; its public key
    /// is served at `/.well-known/jwks.json`.
    #[schemars(with = "Option<IdentityAssertionSection>")]
    pub identity_assertion: Option<Spanned<IdentityAssertionSection>>,
}

/// The gateway as an OAuth 2.0 client of a token endpoint.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuthClientSection {
    /// The token endpoint, an http(s) URL.
    #[schemars(with = "String")]
    pub token_url: Text,
    /// The gateway's client id at the authorization server.
    #[schemars(with = "String")]
    pub client_id: Text,
    /// The client secret, normally `${VAR}` from the environment; never logged or shown.
    #[schemars(with = "String")]
    pub client_secret: Text,
    /// How the client authenticates: `basic` (HTTP Basic, default) or `post` (in the form).
    #[schemars(with = "Option<String>")]
    pub client_auth: Option<Text>,
    /// Scopes asked for (sent space-separated as `scope`).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub scopes: Vec<Text>,
    /// The upstream's identifier, sent as `audience` and `resource` (RFC 8707).
    #[schemars(with = "Option<String>")]
    pub audience: Option<Text>,
    /// Time allowed for one token request (default 10s).
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Text>,
}

/// `identity_assertion:`: a JWT signed by the gateway for every call.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityAssertionSection {
    /// The header carrying the assertion (default `X-Caller-Assertion`).
    #[schemars(with = "Option<String>")]
    pub header: Option<Text>,
    /// The assertion's `iss`.
    #[schemars(with = "String")]
    pub issuer: Text,
    /// The assertion's `aud`: the upstream.
    #[schemars(with = "String")]
    pub audience: Text,
    /// Lifetime of each assertion (default 60s).
    #[schemars(with = "Option<String>")]
    pub ttl: Option<Text>,
    /// PEM file of the signing key: RSA (signs RS256) or EC P-256 in PKCS#8 (signs ES256).
    #[schemars(with = "String")]
    pub signing_key_file: Text,
    /// The `kid` of the key in the JWKS (default: its RFC 7638 thumbprint).
    #[schemars(with = "Option<String>")]
    pub key_id: Option<Text>,
}

/// One entry of `tools:`.
// The large sections few tools have (`operation`, `complete`) are boxed: a generated config
// holds tens of thousands of entries, all in memory at once.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolSection {
    /// Unique name, 1–128 characters of `A-Za-z0-9_-.`.
    #[schemars(with = "String")]
    pub name: Text,
    /// Short human-readable title.
    #[schemars(with = "Option<String>")]
    pub title: Option<Text>,
    /// What the tool does; the model reads it to decide when to call the tool.
    #[schemars(with = "String")]
    pub description: Text,
    /// JSON Schema (2020-12) of the arguments; validated before anything is sent.
    #[schemars(with = "Option<Value>")]
    pub input_schema: Option<Spanned<Value>>,
    /// MCP tool annotations; derived from the HTTP method when omitted.
    #[schemars(with = "Option<Value>")]
    pub annotations: Option<Spanned<Value>>,
    /// Extra per-caller rate limit for this tool, e.g. a lower one for writes.
    #[schemars(with = "Option<RateSection>")]
    pub rate_limit: Option<Spanned<RateSection>>,
    /// Scopes a JWT caller's token must carry to see and call this tool; a caller without
    /// them is answered 403 `insufficient_scope`. API-key callers are not scoped.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub required_scopes: Vec<Text>,
    /// The upstream HTTP call to make.
    #[schemars(with = "RequestSection")]
    pub request: Spanned<RequestSection>,
    /// How to shape the upstream answer.
    #[serde(default)]
    pub response: ResponseSection,
    /// A long-running upstream job: the first answer (typically `202 Accepted` with a
    /// `Location`) only starts it; the gateway polls until it is done and answers with the
    /// final result, as one tool call (or as an MCP task where the client asks for one).
    #[schemars(with = "Option<OperationSection>")]
    pub operation: Option<Box<Spanned<OperationSection>>>,
    /// Suggestions for `completion/complete` from an upstream call, by argument (a property
    /// of `input_schema`), e.g. `{ customer_id: { request: …, pick: /ids } }`; other
    /// arguments are completed from their schema's `enum`.
    #[schemars(with = "Option<BTreeMap<String, CompleteSection>>")]
    pub complete: Option<Box<Spanned<IndexMap<String, CompleteSection>>>>,
    /// Examples checked by `toolgate test` without sending anything.
    #[serde(default)]
    #[schemars(with = "Vec<ToolTestSection>")]
    pub tests: Vec<Spanned<ToolTestSection>>,
}

/// `request:`: the upstream call template of a tool or resource.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestSection {
    /// Name of an entry of `upstreams`.
    #[schemars(with = "String")]
    pub upstream: Text,
    /// HTTP method (default GET).
    #[schemars(with = "Option<String>")]
    pub method: Option<Text>,
    /// Path below the upstream's `base_url`; each `{{...}}` is encoded as one path segment.
    #[schemars(with = "String")]
    pub path: Text,
    /// Query entries, sent in the order written; an entry whose argument is absent is left out.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub query: IndexMap<String, Text>,
    /// Extra headers, sent in the order written; values with CR, LF or NUL are rejected.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub headers: IndexMap<String, Text>,
    /// JSON body; a string leaf that is exactly one `{{...}}` keeps the value's JSON type.
    #[schemars(with = "Option<Value>")]
    pub body: Option<Spanned<Value>>,
    /// Overrides the upstream's timeout for this call, e.g. `3s`.
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Text>,
}

/// `response:`: how the upstream answer is turned into the tool result.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseSection {
    /// JSON Pointer into the upstream body, e.g. `/note`; default the whole body. Needs a
    /// JSON answer (a binary one fails the call).
    #[schemars(with = "Option<String>")]
    pub pick: Option<Text>,
    /// Relay the answer as it arrives (NDJSON, progress notifications).
    #[serde(default)]
    pub stream: bool,
    /// Longer results are cut, with an explicit truncation marker. A binary answer (image,
    /// audio, other non-text types) is never cut: one larger than this, counted before base64
    /// encoding, is an `upstream_error`.
    #[schemars(with = "Option<WholeOrVar>")]
    pub max_bytes: Option<Number>,
    /// JSON Schema of the result; advertised to clients and checked.
    #[schemars(with = "Option<Value>")]
    pub output_schema: Option<Spanned<Value>>,
}

/// `operation:`: how a long-running upstream job is followed to its end.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OperationSection {
    /// How the job's status is polled.
    #[serde(default)]
    pub poll: PollSection,
    /// When the job is over: the status answer has one of `equals` at `pointer`.
    #[schemars(with = "ConditionSection")]
    pub done_when: Spanned<ConditionSection>,
    /// When a finished job failed: the call then ends as an `upstream_error` carrying an
    /// excerpt of the upstream's status answer. Checked before `done_when`.
    #[schemars(with = "Option<ConditionSection>")]
    pub failed_when: Option<Spanned<ConditionSection>>,
    /// When a finished job was cancelled upstream (an `upstream_error` too, and an MCP task
    /// in status `cancelled`). Checked before `done_when`.
    #[schemars(with = "Option<ConditionSection>")]
    pub cancelled_when: Option<Spanned<ConditionSection>>,
    /// Where the job's progress is, as a number from 0 to 100 (MCP `notifications/progress`
    /// with `total: 100`, legacy NDJSON progress lines).
    #[schemars(with = "Option<ProgressSection>")]
    pub progress: Option<Spanned<ProgressSection>>,
    /// Where the result is: `body./result` (a JSON Pointer into the last status answer), or
    /// `{ url_from: body./result_url }` for a follow-up GET; default the whole last status
    /// answer. The tool's `response:` (pick, output_schema, max_bytes) then applies.
    #[schemars(with = "Option<ResultFromSection>")]
    pub result_from: Option<Spanned<ResultFromSection>>,
    /// The request sent upstream when the client cancels the call (or it times out), e.g.
    /// `{ method: DELETE, url_from: header.Location }`; its URL comes from the first answer.
    #[schemars(with = "Option<CancelSection>")]
    pub cancel: Option<Spanned<CancelSection>>,
}

/// `operation.poll:`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PollSection {
    /// Where the status URL comes from, in the first answer: `header.Location` (default),
    /// `body./job/status_url` (a JSON Pointer), or a path template below the upstream's
    /// `base_url` such as `/jobs/{{answer.id}}` (`answer.*` is the first answer's body;
    /// `args.*` and `caller.*` work too). It must stay inside the upstream.
    #[schemars(with = "Option<String>")]
    pub url_from: Option<Text>,
    /// HTTP method of the status request (default GET).
    #[schemars(with = "Option<String>")]
    pub method: Option<Text>,
    /// Wait before the first poll and between polls (default 1s); a `Retry-After` from the
    /// upstream takes its place when present. The wait grows by half after each poll.
    #[schemars(with = "Option<String>")]
    pub interval: Option<Text>,
    /// The longest wait between two polls (default 10s), `Retry-After` included.
    #[schemars(with = "Option<String>")]
    pub max_interval: Option<Text>,
    /// How long the job may take in all (default 10m); past it the call ends with
    /// `upstream_timeout` (and the cancel request is sent).
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Text>,
}

/// A test on a status answer: the value at `pointer` is one of `equals`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionSection {
    /// JSON Pointer into the status answer, e.g. `/state`.
    #[schemars(with = "String")]
    pub pointer: Text,
    /// The values that satisfy the test (compared as text: `200` matches `"200"`).
    pub equals: Vec<Value>,
}

/// `operation.progress:`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgressSection {
    /// JSON Pointer to a number from 0 to 100 in the status answer, e.g. `/percent`.
    #[schemars(with = "String")]
    pub pointer: Text,
}

/// `operation.result_from:`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum ResultFromSection {
    /// `body./pointer`: the result is this part of the last status answer.
    Body(String),
    /// A follow-up request for the result.
    Fetch(ResultFetchSection),
}

/// `operation.result_from: { url_from: ... }`: the result is fetched with a follow-up request.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultFetchSection {
    /// Where its URL comes from, in the last status answer: `header.Location`,
    /// `body./result_url`, or a path template with `{{answer.*}}` (the first answer).
    pub url_from: String,
    /// HTTP method (default GET).
    pub method: Option<String>,
}

/// `operation.cancel:`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelSection {
    /// HTTP method (default DELETE).
    #[schemars(with = "Option<String>")]
    pub method: Option<Text>,
    /// Where its URL comes from, in the first answer (the same forms as `poll.url_from`;
    /// default `header.Location`).
    #[schemars(with = "Option<String>")]
    pub url_from: Option<Text>,
}

/// One entry of `prompts:`: a message template a client lists (`prompts/list`) and fills with
/// arguments (`prompts/get`). Nothing is sent upstream.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromptSection {
    /// Unique name, 1–128 characters of `A-Za-z0-9_-.`. The allow-lists that hide tools from
    /// a caller (an API key's `tools:`, `auth.jwt.tools_by_claim`) hide prompts of the same
    /// name pattern too.
    #[schemars(with = "String")]
    pub name: Text,
    /// Short human-readable title.
    #[schemars(with = "Option<String>")]
    pub title: Option<Text>,
    /// What the prompt is for.
    #[schemars(with = "Option<String>")]
    pub description: Option<Text>,
    /// The arguments the messages use, as `{{args.NAME}}`; each value is a string.
    #[serde(default)]
    pub arguments: Vec<PromptArgumentSection>,
    /// The messages, in order. Their text uses the placeholder rules of request templates:
    /// plain `{{args.NAME}}` (a declared argument; an absent optional one is empty) and
    /// `{{caller.*}}`, no blocks, helpers or partials.
    pub messages: Vec<PromptMessageSection>,
}

/// One argument of a prompt.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromptArgumentSection {
    /// The argument's name (`A-Za-z0-9_`), used as `{{args.NAME}}`.
    #[schemars(with = "String")]
    pub name: Text,
    /// What to pass.
    #[schemars(with = "Option<String>")]
    pub description: Option<Text>,
    /// `prompts/get` without it is refused (-32602).
    #[serde(default)]
    pub required: bool,
    /// The values it may take: `prompts/get` refuses others, and `completion/complete`
    /// offers them (those starting with what the user typed).
    #[serde(default, rename = "enum")]
    #[schemars(with = "Vec<String>")]
    pub values: Vec<Text>,
    /// Suggestions for `completion/complete` from an upstream call instead of `enum`.
    #[schemars(with = "Option<CompleteSection>")]
    pub complete: Option<CompleteSection>,
}

/// `complete:` of a prompt argument (or of a tool's argument): the upstream call whose JSON
/// answer lists suggestions.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteSection {
    /// The call, as a tool's `request:`; `{{args.value}}` is what the user typed so far.
    #[schemars(with = "RequestSection")]
    pub request: Spanned<RequestSection>,
    /// JSON Pointer to the array of suggestions in the answer (strings or other values,
    /// shown as text); default the whole answer.
    #[schemars(with = "Option<String>")]
    pub pick: Option<Text>,
}

/// One message of a prompt.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromptMessageSection {
    /// Who speaks: `user` (default) or `assistant`.
    #[serde(default)]
    pub role: PromptRole,
    /// The message text, a template.
    #[schemars(with = "String")]
    pub text: Text,
}

/// The speaker of a prompt message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PromptRole {
    /// The user.
    #[default]
    User,
    /// The assistant.
    Assistant,
}

/// One `tests:` entry of a tool.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolTestSection {
    /// Arguments to render.
    #[serde(default)]
    pub args: Value,
    /// What the rendered request (or the error) must look like.
    pub expect: Value,
}

/// One entry of `resources:`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceSection {
    /// The resource URI, e.g. `crm://segments`.
    #[schemars(with = "String")]
    pub uri: Text,
    /// Display name.
    #[schemars(with = "String")]
    pub name: Text,
    /// Optional description.
    #[schemars(with = "Option<String>")]
    pub description: Option<Text>,
    /// MIME type of the content (default `application/json`).
    #[schemars(with = "Option<String>")]
    pub mime_type: Option<Text>,
    /// The upstream call that produces the content (no arguments).
    #[schemars(with = "RequestSection")]
    pub request: Spanned<RequestSection>,
}

/// One entry of `resource_templates:`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceTemplateSection {
    /// RFC 6570 template of the URIs, e.g. `crm://customers/{customer_id}`: `{name}` matches
    /// one value without `/`, `{+name}` may span `/`. The request uses the values as
    /// `{{args.name}}`.
    #[schemars(with = "String")]
    pub uri_template: Text,
    /// Display name.
    #[schemars(with = "String")]
    pub name: Text,
    /// Optional description.
    #[schemars(with = "Option<String>")]
    pub description: Option<Text>,
    /// MIME type of the content (default `application/json`).
    #[schemars(with = "Option<String>")]
    pub mime_type: Option<Text>,
    /// The upstream call that produces the content of one matching URI.
    #[schemars(with = "RequestSection")]
    pub request: Spanned<RequestSection>,
}

/// `auth:`: how callers authenticate. API keys and JWTs may both be enabled.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// `none` for an open gateway (the same as omitting `auth`).
    #[schemars(with = "Option<String>")]
    pub mode: Option<Text>,
    /// API keys, sent as `Authorization: Bearer <key>`.
    #[serde(default)]
    #[schemars(with = "Vec<ApiKeySection>")]
    pub api_keys: Vec<Spanned<ApiKeySection>>,
    /// OAuth 2.0 bearer tokens (JWT).
    #[schemars(with = "Option<JwtSection>")]
    pub jwt: Option<Spanned<JwtSection>>,
}

/// One API key.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeySection {
    /// The caller's name in logs and metrics; never the key itself.
    #[schemars(with = "String")]
    pub id: Text,
    /// The key, normally `${VAR}` from the environment.
    #[schemars(with = "Option<String>")]
    pub key: Option<Text>,
    /// Or the key's SHA-256 digest in hex, so that the key itself is stored nowhere.
    #[schemars(with = "Option<String>")]
    pub key_sha256: Option<Text>,
    /// Organisation, available to templates as `{{caller.org}}`.
    #[schemars(with = "Option<String>")]
    pub org: Option<Text>,
    /// Rate-limit tier (default `rate_limits.default_tier`).
    #[schemars(with = "Option<String>")]
    pub tier: Option<Text>,
    /// Tools this key may see and call, as globs (`crm_*`); default all.
    #[schemars(with = "Option<Vec<String>>")]
    pub tools: Option<Vec<Text>>,
}

/// `auth.jwt:`: JWT verification.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JwtSection {
    /// Required `iss`.
    #[schemars(with = "String")]
    pub issuer: Text,
    /// Required `aud` (default `server.public_url`).
    #[schemars(with = "Option<String>")]
    pub audience: Option<Text>,
    /// JWKS URL of the authorization server.
    #[schemars(with = "Option<String>")]
    pub jwks_url: Option<Text>,
    /// Or a shared HS256 secret (from the environment).
    #[schemars(with = "Option<String>")]
    pub hs256_secret: Option<Text>,
    /// Accepted algorithms (default `[RS256]` with `jwks_url`, `[HS256]` with a secret).
    #[schemars(with = "Option<Vec<String>>")]
    pub algorithms: Option<Vec<Text>>,
    /// Minimum time between two JWKS fetches (default 60s).
    #[schemars(with = "Option<String>")]
    pub jwks_refresh_interval: Option<Text>,
    /// Claim naming the caller (default `sub`).
    #[schemars(with = "Option<String>")]
    pub id_claim: Option<Text>,
    /// Claim naming the caller's organisation (default `org`).
    #[schemars(with = "Option<String>")]
    pub org_claim: Option<Text>,
    /// Claim naming the caller's tier (default `tier`).
    #[schemars(with = "Option<String>")]
    pub tier_claim: Option<Text>,
    /// Scopes advertised in the protected-resource metadata.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub scopes_supported: Vec<Text>,
    /// Claim holding the token's scopes (default `scope`, a space-separated string; an array
    /// such as `scp` works too).
    #[schemars(with = "Option<String>")]
    pub scope_claim: Option<Text>,
    /// Tool allow-lists by claim: a JWT caller may see and call the tools of every rule its
    /// token matches, and no others. Absent: every tool.
    #[serde(default)]
    #[schemars(with = "Vec<ClaimRuleSection>")]
    pub tools_by_claim: Vec<Spanned<ClaimRuleSection>>,
}

/// One entry of `auth.jwt.tools_by_claim`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimRuleSection {
    /// The claim, e.g. `org` or `groups`.
    #[schemars(with = "String")]
    pub claim: Text,
    /// The value it must have; a list claim (e.g. groups) must contain it.
    #[schemars(with = "String")]
    pub equals: Text,
    /// Tools callers matching this rule may use, as globs (`crm_*`).
    #[schemars(with = "Vec<String>")]
    pub tools: Vec<Text>,
}

/// `rate_limits:`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitsSection {
    /// Tier of callers whose credentials name none (default `standard`).
    #[schemars(with = "Option<String>")]
    pub default_tier: Option<Text>,
    /// Rates by tier name.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RateSection>")]
    pub tiers: BTreeMap<String, Spanned<RateSection>>,
    /// `memory` (default; per process) or `redis` (shared by all replicas).
    #[schemars(with = "Option<String>")]
    pub backend: Option<Text>,
    /// Redis URL for `backend: redis`.
    #[schemars(with = "Option<String>")]
    pub redis_url: Option<Text>,
    /// `allow` (default) or `deny` calls when Redis cannot be reached.
    #[schemars(with = "Option<String>")]
    pub on_redis_error: Option<Text>,
}

/// A rate: `requests` per `per`, with `burst` calls admitted at once.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateSection {
    /// Calls refilled per `per`.
    #[schemars(with = "WholeOrVar")]
    pub requests: Number,
    /// The refill period, e.g. `1s`, `1m`.
    #[schemars(with = "String")]
    pub per: Text,
    /// Bucket size (default `requests`).
    #[schemars(with = "Option<WholeOrVar>")]
    pub burst: Option<Number>,
}
