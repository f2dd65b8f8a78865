//! Access: every call but health and reflection must carry `authorization: Bearer <key>`. A tower
//! layer in front of every service authenticates the key (UNAUTHENTICATED when there is none, or
//! it is unknown or revoked), checks the method's scope ([`required_scope`], one row per RPC;
//! PERMISSION_DENIED otherwise, and for a method without a row) and the key's rate, and hands the
//! [`Principal`] to the handler, which checks the workspace it asks for ([`caller`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::{Request, Status};

use crate::auth::{Principal, Scope};
use crate::engine::Engine;
use crate::error::Error;
use crate::model::{quoted, validate_workspace, ValidationError};

/// Request header naming the workspace when the request's `workspace` field is empty.
pub const WORKSPACE_HEADER: &str = "x-tideline-workspace";

/// Paths anyone may call: health and reflection.
const OPEN_PATHS: [&str; 3] = [
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
];

/// The scope each RPC needs, by `Service/Method`. A method without a row is refused, so a new RPC
/// cannot be reachable before someone decides who may call it. (EvaluateAlerts needs `curate`
/// too when it records or delivers: its handler checks that.)
pub fn required_scope(method: &str) -> Option<Scope> {
    use Scope::*;
    Some(match method {
        "IngestService/IngestVerbatims" | "IngestService/StreamVerbatims" => Ingest,
        "VerbatimService/GetVerbatim" | "VerbatimService/SearchVerbatims" => Read,
        "VerbatimService/DeleteVerbatim" | "VerbatimService/UpdateVerbatimTags" => Curate,
        "TaxonomyService/GetTaxonomy" | "TaxonomyService/TagText" => Read,
        "TaxonomyService/UpdateTaxonomy" => Admin,
        "ThemeService/ListThemes"
        | "ThemeService/GetTheme"
        | "ThemeService/ListThemeVerbatims"
        | "ThemeService/GetThemeTrend"
        | "ThemeService/GetTagTrend" => Read,
        "ThemeService/RefreshThemes" | "ThemeService/UpdateTheme" | "ThemeService/MergeThemes" => {
            Curate
        }
        "AlertService/EvaluateAlerts"
        | "AlertService/ListAlerts"
        | "AlertService/GetAlert"
        | "AlertService/WatchAlerts"
        | "AlertService/GetAlertRules" => Read,
        "AlertService/UpdateAlert" => Curate,
        "InsightsService/GetMetricDrivers"
        | "InsightsService/GetThemeSpotlight"
        | "InsightsService/GetSentimentSummary"
        | "InsightsService/GetJourneyHealth"
        | "InsightsService/CompareSegments"
        | "InsightsService/GetDigest" => Read,
        "AlertService/UpdateAlertRules" => Admin,
        "WebhookService/CreateWebhook"
        | "WebhookService/ListWebhooks"
        | "WebhookService/DeleteWebhook"
        | "WebhookService/RotateWebhookSecret"
        | "WebhookService/ListDeliveries"
        | "WebhookService/RedeliverAlert"
        | "WebhookService/GetDigestSchedule"
        | "WebhookService/UpdateDigestSchedule" => Admin,
        "KeyService/CreateKey" | "KeyService/ListKeys" | "KeyService/RevokeKey" => Admin,
        "AuditService/ListAuditEvents" => Admin,
        _ => return None,
    })
}

/// `/tideline.v1.ThemeService/UpdateTheme` → `ThemeService/UpdateTheme`.
fn method_of(path: &str) -> &str {
    path.strip_prefix("/tideline.v1.").unwrap_or(path)
}

/// Who is calling and whether this method is theirs to call.
fn admit(engine: &Engine, path: &str, authorization: Option<&str>) -> Result<Principal, Error> {
    if !engine.config().auth.enabled() {
        return Ok(Principal::unrestricted());
    }
    let keys = &engine.services().keys;
    let token = authorization
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Error::Unauthenticated(
                "missing api key: send `authorization: Bearer <key>` (tideline --api-key)".into(),
            )
        })?;
    let principal = keys.authenticate(token)?;
    let method = method_of(path);
    let scope = required_scope(method)
        .ok_or_else(|| Error::PermissionDenied(format!("no access rule for {}", quoted(method))))?;
    if !principal.allows(scope) {
        return Err(Error::PermissionDenied(format!(
            "key {} lacks the {} scope {method} needs",
            principal.key_id,
            scope.as_str()
        )));
    }
    keys.quotas.admit(&principal.key_id)?;
    Ok(principal)
}

/// The layer that admits calls (see the module doc).
#[derive(Clone)]
pub struct AccessLayer {
    engine: Arc<Engine>,
}

impl AccessLayer {
    pub fn new(engine: Arc<Engine>) -> AccessLayer {
        AccessLayer { engine }
    }
}

impl<S> tower::Layer<S> for AccessLayer {
    type Service = Access<S>;

    fn layer(&self, inner: S) -> Access<S> {
        Access {
            inner,
            engine: self.engine.clone(),
        }
    }
}

/// [`AccessLayer`]'s service.
#[derive(Clone)]
pub struct Access<S> {
    inner: S,
    engine: Arc<Engine>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> tower::Service<http::Request<B>> for Access<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let path = request.uri().path().to_string();
        if OPEN_PATHS.iter().any(|open| path.starts_with(open)) {
            return Box::pin(self.inner.call(request));
        }
        let authorization = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        match admit(&self.engine, &path, authorization) {
            Ok(principal) => {
                request.extensions_mut().insert(principal);
                Box::pin(self.inner.call(request))
            }
            Err(err) => {
                let response = Status::from(err).into_http();
                Box::pin(async move { Ok(response) })
            }
        }
    }
}

/// The principal the access layer admitted for this request.
pub fn principal_of<T>(request: &Request<T>) -> Result<Principal, Status> {
    request
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| Status::internal("the request was not admitted by the access layer"))
}

/// The workspace a request addresses — its field, else the `x-tideline-workspace` header, else
/// the key's own workspace, else the configured default — when the caller's key reaches it
/// (PERMISSION_DENIED otherwise, before anything is looked up, so nothing tells whether another
/// workspace's object exists).
pub fn caller_of<T>(
    engine: &Engine,
    request: &Request<T>,
    field: &str,
) -> Result<(String, Principal), Status> {
    let principal = principal_of(request)?;
    let workspace = resolve_workspace(
        request,
        field,
        principal
            .workspace
            .as_deref()
            .unwrap_or(&engine.config().default_workspace),
    )?;
    check_reach(&principal, &workspace)?;
    Ok((workspace, principal))
}

/// PERMISSION_DENIED unless the key works in `workspace`.
pub fn check_reach(principal: &Principal, workspace: &str) -> Result<(), Status> {
    if principal.reaches(workspace) {
        return Ok(());
    }
    Err(Error::PermissionDenied(format!(
        "key {} works in workspace {} only",
        principal.key_id,
        principal.workspace.as_deref().unwrap_or_default()
    ))
    .into())
}

/// The workspace a request names: its field, else the header, else `default`.
pub fn resolve_workspace<T>(
    request: &Request<T>,
    field: &str,
    default: &str,
) -> Result<String, ValidationError> {
    let workspace = if !field.is_empty() {
        field.to_string()
    } else if let Some(header) = request.metadata().get(WORKSPACE_HEADER) {
        header
            .to_str()
            .map_err(|_| ValidationError::new("workspace", "header is not ASCII"))?
            .to_string()
    } else {
        default.to_string()
    };
    validate_workspace(&workspace)?;
    Ok(workspace)
}

/// PERMISSION_DENIED unless the caller holds `scope` (for what a method needs beyond its row).
pub fn check_scope(principal: &Principal, scope: Scope, what: &str) -> Result<(), Status> {
    if principal.allows(scope) {
        return Ok(());
    }
    Err(Error::PermissionDenied(format!(
        "key {} lacks the {} scope {what} needs",
        principal.key_id,
        scope.as_str()
    ))
    .into())
}

/// The deadline a client set on its call (`grpc-timeout`: an integer of at most 8 digits and a unit,
/// H M S m u n), if any. tonic ends a unary call at it; a server stream uses it to end itself.
pub fn deadline_of<T>(request: &Request<T>) -> Option<std::time::Duration> {
    use std::time::Duration;
    let value = request.metadata().get("grpc-timeout")?.to_str().ok()?;
    let split = value.len().checked_sub(1)?;
    let (digits, unit) = value.split_at(split);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn with_timeout(value: &str) -> Request<()> {
        let mut request = Request::new(());
        request
            .metadata_mut()
            .insert("grpc-timeout", value.parse().unwrap());
        request
    }

    #[test]
    fn deadlines_are_read_in_every_unit_and_malformed_ones_ignored() {
        let cases = [
            ("2H", Some(Duration::from_secs(7200))),
            ("3M", Some(Duration::from_secs(180))),
            ("4S", Some(Duration::from_secs(4))),
            ("250m", Some(Duration::from_millis(250))),
            ("7u", Some(Duration::from_micros(7))),
            ("9n", Some(Duration::from_nanos(9))),
            ("123456789S", None),
            ("S", None),
            ("10x", None),
            ("-1S", None),
        ];
        for (value, expected) in cases {
            assert_eq!(deadline_of(&with_timeout(value)), expected, "{value}");
        }
        assert_eq!(deadline_of(&Request::new(())), None);
    }

    #[test]
    fn every_rpc_of_the_proto_has_an_access_rule() {
        use prost::Message;
        let set =
            prost_types::FileDescriptorSet::decode(crate::proto::FILE_DESCRIPTOR_SET).unwrap();
        for file in set.file.iter().filter(|f| f.package() == "tideline.v1") {
            for service in &file.service {
                for method in &service.method {
                    let name = format!("{}/{}", service.name(), method.name());
                    assert!(required_scope(&name).is_some(), "{name} has no access rule");
                }
            }
        }
    }
}
