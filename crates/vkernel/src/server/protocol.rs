//! The socket protocol, version 1: newline-delimited JSON, one request per line,
//! one reply per request (a streaming run adds event lines before its reply).
//! `docs/recompiler-container-plan/protocol.md` documents every message; this
//! module is the parser and the reply builders, kept free of I/O so that the
//! fuzz target and the unit tests drive it directly.
//!
//! Parsing goes in two steps so that every failure names what is wrong: the
//! line must be a JSON object (`bad_json`), its `type` must be present
//! (`missing_field`) and known (`unknown_type`), its `v` (if given) must be a
//! version we speak (`unsupported_version`), and only then are the type's own
//! fields read (`missing_field` / `bad_request`, with serde's description).

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The protocol version this daemon speaks.
pub const PROTOCOL_VERSION: u64 = 1;

/// The largest request line accepted (a run's stdin travels inside it).
pub const MAX_REQUEST_BYTES: usize = 16 << 20;

/// Every request type, as written in `type`.
pub const REQUEST_TYPES: &[&str] = &[
    "hello",
    "health",
    "stats",
    "bundle.load",
    "bundle.list",
    "container.create",
    "container.delete",
    "container.list",
    "exec",
    "run",
    "pipeline",
    "stdin",
    "kill",
    "syscall",
    "session.open",
    "session.run",
    "session.close",
];

/// Why a request got an error reply. The `code` is stable; the message is for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError {
    pub code: ErrorCode,
    pub message: String,
}

/// The stable error codes of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadJson,
    TooLarge,
    MissingField,
    UnknownType,
    UnsupportedVersion,
    BadRequest,
    NotFound,
    Forbidden,
    Busy,
    Bundle,
    Exec,
    Errno,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadJson => "bad_json",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::MissingField => "missing_field",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Busy => "busy",
            ErrorCode::Bundle => "bundle",
            ErrorCode::Exec => "exec",
            ErrorCode::Errno => "errno",
            ErrorCode::Internal => "internal",
        }
    }
}

impl ProtocolError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ProtocolError {
        ProtocolError {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

/// A parsed request: its id (echoed in replies) and body.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub id: Option<Value>,
    pub request: Request,
}

/// The requests.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Hello,
    Health,
    Stats,
    BundleLoad(BundleLoad),
    BundleList,
    ContainerCreate(ContainerCreate),
    ContainerDelete(CidOnly),
    ContainerList,
    Exec(ExecCheck),
    Run(Run),
    Pipeline(Pipeline),
    Stdin(Stdin),
    Kill(Kill),
    Syscall(Syscall),
    SessionOpen(SessionOpen),
    SessionRun(SessionRun),
    SessionClose(CidOnly),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleLoad {
    /// The bundle directory, on the daemon's filesystem.
    pub path: String,
    /// Let a listed program's bytes run from an unlisted path.
    #[serde(default)]
    pub allow_copies: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerCreate {
    /// A bundle id from `bundle.load`; may be left out when one bundle is loaded.
    pub bundle: Option<String>,
    /// The container id to use; the daemon picks one if left out.
    pub cid: Option<String>,
    /// Per-container limits; the daemon's defaults otherwise.
    pub max_open_files: Option<usize>,
    pub max_processes: Option<usize>,
    pub max_writable_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CidOnly {
    pub cid: String,
}

/// The plan's exec request: may the file at `path` with this hash run?
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecCheck {
    pub path: String,
    /// `sha256:<hex>` or `blake3:<hex>`: the hash the client computed.
    pub hash: Option<String>,
    /// With a container, the file is also resolved and hashed inside it.
    pub cid: Option<String>,
    /// Without a container: which bundle's manifest (when several are loaded).
    pub bundle: Option<String>,
}

/// Environment: an object `{"NAME": "value"}` or a list of `"NAME=value"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum EnvSpec {
    Map(BTreeMap<String, String>),
    List(Vec<String>),
}

impl Default for EnvSpec {
    fn default() -> EnvSpec {
        EnvSpec::List(Vec::new())
    }
}

impl EnvSpec {
    pub fn pairs(&self) -> Result<Vec<(String, String)>, ProtocolError> {
        match self {
            EnvSpec::Map(m) => Ok(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            EnvSpec::List(l) => l
                .iter()
                .map(|e| {
                    e.split_once('=')
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .ok_or_else(|| {
                            ProtocolError::new(
                                ErrorCode::BadRequest,
                                format!("env entry {e:?}: expected NAME=value"),
                            )
                        })
                })
                .collect(),
        }
    }
}

/// What to start: shared by `run` and each stage of `pipeline`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Program {
    pub path: String,
    /// argv; left out: `[basename of path]`.
    #[serde(default)]
    pub argv: Option<Vec<String>>,
    #[serde(default)]
    pub env: EnvSpec,
    pub cwd: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Run {
    pub cid: String,
    pub path: String,
    #[serde(default)]
    pub argv: Option<Vec<String>>,
    #[serde(default)]
    pub env: EnvSpec,
    pub cwd: Option<String>,
    /// stdin as base64 (`stdin`) or text (`stdin_text`); at most one.
    pub stdin: Option<String>,
    pub stdin_text: Option<String>,
    /// Streaming form: output arrives as events; stdin may follow in `stdin` messages.
    #[serde(default)]
    pub stream: bool,
    /// Streaming form: keep stdin open for `stdin` messages after the given bytes.
    #[serde(default)]
    pub stdin_open: bool,
    pub timeout_ms: Option<u64>,
    pub output_cap: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    pub cid: String,
    pub stages: Vec<Program>,
    pub stdin: Option<String>,
    pub stdin_text: Option<String>,
    pub timeout_ms: Option<u64>,
    pub output_cap: Option<usize>,
}

/// Input for the running streaming process of this connection.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stdin {
    /// base64.
    #[serde(default)]
    pub data: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    /// Close stdin after this data.
    #[serde(default)]
    pub eof: bool,
}

/// Stops the running streaming process of this connection.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kill {}

/// The syscall RPC.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Syscall {
    pub cid: String,
    pub name: String,
    #[serde(default)]
    pub args: Vec<Value>,
}

/// What `session.open` does when the container already has a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IfExists {
    /// Fail with `busy` (the default).
    #[default]
    Error,
    /// Keep the running session and answer with it.
    Keep,
    /// End the running session and start a new one.
    Replace,
}

/// Starts the container's shell session.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionOpen {
    pub cid: String,
    /// The shell's path in the container [default: /bin/bash].
    pub shell: Option<String>,
    #[serde(default)]
    pub env: EnvSpec,
    pub cwd: Option<String>,
    /// Cap on each command's stdout and stderr.
    pub output_cap: Option<usize>,
    #[serde(default)]
    pub if_exists: IfExists,
}

/// One command in the container's session (opened with the defaults if it has none).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionRun {
    pub cid: String,
    pub command: String,
    /// The command's stdin as base64 (`stdin`) or text (`stdin_text`); at most one.
    pub stdin: Option<String>,
    pub stdin_text: Option<String>,
    pub timeout_ms: Option<u64>,
}

/// Parses one request line (without its newline).
pub fn parse_request(line: &[u8]) -> Result<Envelope, (Option<Value>, ProtocolError)> {
    if line.len() > MAX_REQUEST_BYTES {
        return Err((
            None,
            ProtocolError::new(
                ErrorCode::TooLarge,
                format!(
                    "request of {} bytes; the limit is {MAX_REQUEST_BYTES}",
                    line.len()
                ),
            ),
        ));
    }
    let value: Value = serde_json::from_slice(line).map_err(|e| {
        (
            None,
            ProtocolError::new(ErrorCode::BadJson, format!("not valid JSON: {e}")),
        )
    })?;
    let Value::Object(mut map) = value else {
        return Err((
            None,
            ProtocolError::new(ErrorCode::BadJson, "a request is a JSON object"),
        ));
    };
    let id = map.remove("id");
    let fail = |code, message: String| Err((id.clone(), ProtocolError::new(code, message)));
    if let Some(v) = map.remove("v")
        && v.as_u64() != Some(PROTOCOL_VERSION)
    {
        return fail(
            ErrorCode::UnsupportedVersion,
            format!("protocol version {v}; this daemon speaks {PROTOCOL_VERSION}"),
        );
    }
    let ty = match map.remove("type") {
        Some(Value::String(t)) => t,
        Some(other) => {
            return fail(
                ErrorCode::BadRequest,
                format!("`type` must be a string, not {other}"),
            );
        }
        None => return fail(ErrorCode::MissingField, "missing field `type`".into()),
    };
    let body = Value::Object(map);
    let request = match parse_body(&ty, body) {
        Ok(r) => r,
        Err(e) => return Err((id, e)),
    };
    Ok(Envelope { id, request })
}

fn parse_body(ty: &str, body: Value) -> Result<Request, ProtocolError> {
    fn fields<T: serde::de::DeserializeOwned>(ty: &str, body: Value) -> Result<T, ProtocolError> {
        serde_json::from_value(body).map_err(|e| {
            let msg = e.to_string();
            let code = if msg.starts_with("missing field") {
                ErrorCode::MissingField
            } else {
                ErrorCode::BadRequest
            };
            ProtocolError::new(code, format!("{ty}: {msg}"))
        })
    }
    fn empty(ty: &str, body: &Value) -> Result<(), ProtocolError> {
        match body.as_object().and_then(|m| m.keys().next()) {
            Some(k) => Err(ProtocolError::new(
                ErrorCode::BadRequest,
                format!("{ty}: unknown field `{k}`, there are none"),
            )),
            None => Ok(()),
        }
    }
    Ok(match ty {
        "hello" => empty(ty, &body).map(|()| Request::Hello)?,
        "health" => empty(ty, &body).map(|()| Request::Health)?,
        "stats" => empty(ty, &body).map(|()| Request::Stats)?,
        "bundle.list" => empty(ty, &body).map(|()| Request::BundleList)?,
        "container.list" => empty(ty, &body).map(|()| Request::ContainerList)?,
        "bundle.load" => Request::BundleLoad(fields(ty, body)?),
        "container.create" => Request::ContainerCreate(fields(ty, body)?),
        "container.delete" => Request::ContainerDelete(fields(ty, body)?),
        "exec" => Request::Exec(fields(ty, body)?),
        "session.open" => Request::SessionOpen(fields(ty, body)?),
        "session.close" => Request::SessionClose(fields(ty, body)?),
        "session.run" => {
            let run: SessionRun = fields(ty, body)?;
            if run.stdin.is_some() && run.stdin_text.is_some() {
                return Err(ProtocolError::new(
                    ErrorCode::BadRequest,
                    "session.run: give `stdin` or `stdin_text`, not both",
                ));
            }
            if run.command.contains('\0') {
                return Err(ProtocolError::new(
                    ErrorCode::BadRequest,
                    "session.run: `command` contains a NUL character, which a shell cannot take",
                ));
            }
            Request::SessionRun(run)
        }
        "run" => {
            let run: Run = fields(ty, body)?;
            if run.stdin.is_some() && run.stdin_text.is_some() {
                return Err(ProtocolError::new(
                    ErrorCode::BadRequest,
                    "run: give `stdin` or `stdin_text`, not both",
                ));
            }
            if run.stdin_open && !run.stream {
                return Err(ProtocolError::new(
                    ErrorCode::BadRequest,
                    "run: `stdin_open` needs `stream`",
                ));
            }
            Request::Run(run)
        }
        "pipeline" => {
            let p: Pipeline = fields(ty, body)?;
            if p.stages.is_empty() {
                return Err(ProtocolError::new(
                    ErrorCode::BadRequest,
                    "pipeline: `stages` is empty",
                ));
            }
            Request::Pipeline(p)
        }
        "stdin" => Request::Stdin(fields(ty, body)?),
        "kill" => Request::Kill(fields(ty, body)?),
        "syscall" => Request::Syscall(fields(ty, body)?),
        other => {
            return Err(ProtocolError::new(
                ErrorCode::UnknownType,
                format!(
                    "unknown request type {other:?}; known: {}",
                    REQUEST_TYPES.join(", ")
                ),
            ));
        }
    })
}

/// Decodes base64 input, naming the field on failure.
pub fn decode_base64(field: &str, s: &str) -> Result<Vec<u8>, ProtocolError> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| {
            ProtocolError::new(ErrorCode::BadRequest, format!("`{field}`: bad base64: {e}"))
        })
}

pub fn encode_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Stdin given as `stdin` (base64) or `stdin_text`.
pub fn stdin_bytes(b64: &Option<String>, text: &Option<String>) -> Result<Vec<u8>, ProtocolError> {
    match (b64, text) {
        (Some(b), _) => decode_base64("stdin", b),
        (None, Some(t)) => Ok(t.clone().into_bytes()),
        (None, None) => Ok(Vec::new()),
    }
}

/// A reply: `{"status": status, "id": id, ...fields}`, one line.
pub fn reply(id: &Option<Value>, status: &str, fields: Value) -> Vec<u8> {
    let mut map = Map::new();
    map.insert("status".into(), Value::String(status.into()));
    if let Some(id) = id {
        map.insert("id".into(), id.clone());
    }
    if let Value::Object(f) = fields {
        map.extend(f);
    }
    line(Value::Object(map))
}

/// An error reply.
pub fn error_reply(id: &Option<Value>, err: &ProtocolError) -> Vec<u8> {
    reply(
        id,
        "error",
        json!({"error": {"code": err.code.as_str(), "message": err.message}}),
    )
}

/// A streaming event line: `{"event": name, "id": id, ...fields}`.
pub fn event(id: &Option<Value>, name: &str, fields: Value) -> Vec<u8> {
    let mut map = Map::new();
    map.insert("event".into(), Value::String(name.into()));
    if let Some(id) = id {
        map.insert("id".into(), id.clone());
    }
    if let Value::Object(f) = fields {
        map.extend(f);
    }
    line(Value::Object(map))
}

fn line(v: Value) -> Vec<u8> {
    let mut out = serde_json::to_vec(&v).unwrap_or_else(|_| b"{}".to_vec());
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(line: &str) -> ErrorCode {
        parse_request(line.as_bytes()).unwrap_err().1.code
    }

    #[test]
    fn the_plans_exec_message_parses_as_written() {
        let e = parse_request(br#"{"type":"exec","path":"/usr/bin/python3","hash":"sha256:00"}"#)
            .unwrap();
        assert_eq!(
            e.request,
            Request::Exec(ExecCheck {
                path: "/usr/bin/python3".into(),
                hash: Some("sha256:00".into()),
                cid: None,
                bundle: None,
            })
        );
        let e = parse_request(
            br#"{"type":"syscall","name":"openat","args":[-100,"/etc/x",0,0],"cid":"container-123","id":7}"#,
        )
        .unwrap();
        assert_eq!(e.id, Some(json!(7)));
        assert!(
            matches!(e.request, Request::Syscall(s) if s.name == "openat" && s.args.len() == 4)
        );
    }

    #[test]
    fn each_failure_has_its_code() {
        assert_eq!(code("{"), ErrorCode::BadJson);
        assert_eq!(code("[1]"), ErrorCode::BadJson);
        assert_eq!(code(r#"{"path":"/x"}"#), ErrorCode::MissingField);
        assert_eq!(code(r#"{"type":7}"#), ErrorCode::BadRequest);
        assert_eq!(code(r#"{"type":"nope"}"#), ErrorCode::UnknownType);
        assert_eq!(code(r#"{"type":"exec"}"#), ErrorCode::MissingField);
        assert_eq!(code(r#"{"type":"exec","path":1}"#), ErrorCode::BadRequest);
        assert_eq!(
            code(r#"{"type":"exec","path":"/x","extra":1}"#),
            ErrorCode::BadRequest
        );
        assert_eq!(code(r#"{"type":"health","x":1}"#), ErrorCode::BadRequest);
        assert_eq!(
            code(r#"{"type":"health","v":2}"#),
            ErrorCode::UnsupportedVersion
        );
        assert_eq!(
            code(r#"{"type":"pipeline","cid":"c","stages":[]}"#),
            ErrorCode::BadRequest
        );
        assert_eq!(
            code(r#"{"type":"run","cid":"c","path":"/x","stdin":"","stdin_text":""}"#),
            ErrorCode::BadRequest
        );
        assert_eq!(
            code(r#"{"type":"session.run","cid":"c","command":"cat","stdin":"","stdin_text":""}"#),
            ErrorCode::BadRequest
        );
        assert_eq!(
            code(r#"{"type":"session.run","cid":"c","command":"a\u0000b"}"#),
            ErrorCode::BadRequest
        );
        assert_eq!(
            code(r#"{"type":"session.run","cid":"c"}"#),
            ErrorCode::MissingField
        );
        assert_eq!(
            code(r#"{"type":"session.open","cid":"c","if_exists":"maybe"}"#),
            ErrorCode::BadRequest
        );
        let big = vec![b' '; MAX_REQUEST_BYTES + 1];
        assert_eq!(parse_request(&big).unwrap_err().1.code, ErrorCode::TooLarge);
        // The id survives a failure after it was read.
        let (id, _) = parse_request(br#"{"type":"nope","id":"a"}"#).unwrap_err();
        assert_eq!(id, Some(json!("a")));
    }

    #[test]
    fn env_takes_both_forms() {
        let e = parse_request(br#"{"type":"run","cid":"c","path":"/x","env":{"A":"1"}}"#).unwrap();
        let Request::Run(r) = e.request else { panic!() };
        assert_eq!(r.env.pairs().unwrap(), vec![("A".into(), "1".into())]);
        let e = parse_request(br#"{"type":"run","cid":"c","path":"/x","env":["A=1=2"]}"#).unwrap();
        let Request::Run(r) = e.request else { panic!() };
        assert_eq!(r.env.pairs().unwrap(), vec![("A".into(), "1=2".into())]);
        assert!(EnvSpec::List(vec!["A".into()]).pairs().is_err());
    }

    #[test]
    fn replies_are_one_line_with_status_and_id() {
        let r = reply(&Some(json!(1)), "ok", json!({"x": "a\nb"}));
        assert_eq!(r.iter().filter(|&&b| b == b'\n').count(), 1);
        let v: Value = serde_json::from_slice(&r).unwrap();
        assert_eq!(v["status"], "ok");
        assert_eq!(v["id"], 1);
        assert_eq!(v["x"], "a\nb");
        let e = error_reply(&None, &ProtocolError::new(ErrorCode::NotFound, "no"));
        let v: Value = serde_json::from_slice(&e).unwrap();
        assert_eq!(v["error"]["code"], "not_found");
    }
}
