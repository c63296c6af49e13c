//! The OpenAPI 3.1 document of the HTTP API, generated from the handlers' `#[utoipa::path]`
//! annotations and served at `/openapi.json`.
//!
//! utoipa rather than aide: its annotations sit on the handlers and leave the axum router as it
//! is, where aide would have every route re-registered through its own router and every body type
//! derive `schemars`; and a test checks that every route of [`crate::app`] is in the document.
//! The public answers anyone can read without a key (the log, proofs, keys, the jurisdiction, the
//! firm directory) are typed, so that schemathesis checks them field by field. The other bodies
//! are described as JSON objects whose fields docs/FORMAT.md and the README define: they need a
//! signed request, which schemathesis does not make, and their payloads are signed bytes in DSSE
//! envelopes, which a schema of their decoded JSON would not check anyway.

use std::collections::BTreeMap;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{ObjectBuilder, Ref, RefOr, Schema};
use utoipa::{IntoResponses, Modify, OpenApi, PartialSchema, ToSchema};

/// Any JSON object (see the README and docs/FORMAT.md for each endpoint's fields).
#[derive(Debug)]
pub struct Json;

impl PartialSchema for Json {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().description(Some("a JSON object; its fields are in the README and docs/FORMAT.md")).into()
    }
}

impl ToSchema for Json {}

/// An RFC 9457 problem: what was refused and the rule.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ProblemDoc {
    /// `/problems/<rule>`: the rule's name.
    #[schema(rename = "type")]
    kind: String,
    /// A short title.
    title: String,
    /// The HTTP status.
    status: u16,
    /// What is wrong, in one plain sentence.
    detail: String,
    /// The field concerned, if any.
    field: Option<String>,
}

/// The refusal every endpoint may answer: RFC 9457 problem+json naming the rule.
#[derive(Debug)]
pub struct Refusal;

impl IntoResponses for Refusal {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let problem = ContentBuilder::new().schema(Some(Ref::from_schema_name("ProblemDoc"))).build();
        let refused = ResponseBuilder::new()
            .description("refused: RFC 9457 problem+json naming the rule")
            .content("application/problem+json", problem)
            .build();
        BTreeMap::from([("4XX".to_owned(), refused.into())])
    }
}

/// The answers of a JSON endpoint: a JSON object, or a [`Refusal`].
#[derive(Debug)]
pub struct JsonAnswer;

impl IntoResponses for JsonAnswer {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let json = ContentBuilder::new().schema(Some(Ref::from_schema_name("Json"))).build();
        let ok = ResponseBuilder::new().description("OK").content("application/json", json).build();
        let mut answers = Refusal::responses();
        answers.insert("200".to_owned(), ok.into());
        answers
    }
}

/// How requests are signed.
const SIGNATURES: &str = "Writes, and reads of private data, are signed with RFC 9421 HTTP Message Signatures (Ed25519) by a key registered on the log, with an RFC 9530 Content-Digest for bodies:\n\n    Content-Digest: sha-256=:<base64 SHA-256 of the body>:\n    Signature-Input: sig1=(\"@method\" \"@path\" \"@query\" \"content-digest\");created=<unix seconds>;nonce=\"<random>\";keyid=\"<key id>\";alg=\"ed25519\"\n    Signature: sig1=:<base64 Ed25519 signature of the signature base>:\n\nGET requests cover \"@method\" \"@path\" \"@query\". A signature is accepted from 300 s before to 30 s after the server's clock, and each nonce once (README, \"Request signatures: time and replay\").";

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = ApiKey::Header(ApiKeyValue::with_description("Signature", SIGNATURES));
        if let ApiKey::Header(v) = &mut scheme {
            v.name = "Signature".into();
        }
        components.add_security_scheme("request-signature", SecurityScheme::ApiKey(scheme));
    }
}

/// The API document.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "creditlog",
        description = "A verifiable, ledger-backed registry for enterprise credit-risk grading (企业信用风险分级分类监管). The C2SP tlog read side (/checkpoint, /tile/...) and the JSON API under /v1.",
        license(name = "Apache-2.0")
    ),
    paths(
        crate::tlog::checkpoint,
        crate::tlog::tile,
        crate::tlog::log_info,
        crate::metrics::metrics,
        crate::tlog::raw_append,
        crate::tlog::inclusion,
        crate::tlog::consistency,
        crate::tlog::checkpoint_at,
        crate::intake::submit_records,
        crate::intake::check_records,
        crate::identities::submit_identity,
        crate::history::read_entry,
        crate::history::history,
        crate::identities::key_info,
        crate::identities::jurisdiction,
        crate::objections::submit,
        crate::objections::list,
        crate::objections::of_firm,
        crate::repairs::submit,
        crate::repairs::list,
        crate::repairs::of_firm,
        crate::repairs::rules,
        crate::disclosure::disclosure,
        crate::commitments::submit,
        crate::commitments::list,
        crate::commitments::of_firm,
        crate::redactions::submit,
        crate::redactions::of_firm,
        crate::redactions::rules,
        crate::plans::submit_plan,
        crate::plans::list,
        crate::plans::submit_draw,
        crate::plans::one,
        crate::plans::population,
        crate::plans::draw,
        crate::plans::bundle,
        crate::plans::results,
        crate::plans::rules,
        crate::plans::visits,
        crate::warnings::list,
        crate::warnings::acknowledge,
        crate::warnings::of_firm,
        crate::plans::stats,
        crate::sanctions::submit,
        crate::sanctions::of_firm,
        crate::sanctions::check,
        crate::sanctions::checks,
        crate::grading::publish_model,
        crate::grading::model_file,
        crate::grading::regrade,
        crate::grading::regrade_job,
        crate::grading::grades,
        crate::evidence::bundle,
        crate::evidence::reads,
        crate::evidence::heads,
        crate::evidence::heads_leaves,
        crate::federation::status,
        crate::grading::grade_stats,
        crate::directory::search,
        crate::imports::read
    ),
    components(schemas(Json, ProblemDoc)),
    modifiers(&SecuritySchemes)
)]
pub struct ApiDoc;

/// `GET /openapi.json`.
pub(crate) async fn openapi_json() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every route the router serves (read from `app()` in lib.rs), with its methods.
    fn routes() -> Vec<(String, String)> {
        let lib = include_str!("lib.rs");
        let body = &lib[lib.find("pub fn app(").unwrap()..lib.find(".fallback(").unwrap()];
        let mut out = Vec::new();
        for line in body.split(".route(\"").skip(1) {
            let (path, rest) = line.split_once('"').unwrap();
            let path = path.replace("{*path}", "{path}");
            for method in ["get", "post"] {
                if rest.contains(&format!("{method}(")) {
                    out.push((path.clone(), method.to_owned()));
                }
            }
        }
        out
    }

    #[test]
    fn every_route_is_in_the_document_and_nothing_else() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let mut documented: Vec<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(p, ops)| ops.as_object().unwrap().keys().map(move |m| (p.clone(), m.clone())))
            .collect();
        // The document and the portal's pages are not API operations.
        let mut served: Vec<(String, String)> = routes()
            .into_iter()
            .filter(|(p, _)| p != "/openapi.json" && p != "/" && !p.starts_with("/portal/"))
            .collect();
        documented.sort();
        served.sort();
        assert!(served.len() > 50, "{served:?}");
        assert_eq!(documented, served);
        // Signed endpoints name the signature scheme, which says how to sign.
        let scheme = &doc["components"]["securitySchemes"]["request-signature"];
        assert_eq!(scheme["in"], "header");
        assert!(scheme["description"].as_str().unwrap().contains("RFC 9421"), "{scheme}");
        assert_eq!(doc["paths"]["/v1/records"]["post"]["security"][0]["request-signature"], serde_json::json!([]));
        assert!(doc["paths"]["/checkpoint"]["get"].get("security").is_none());
    }
}
