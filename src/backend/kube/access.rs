//! `check: kube`: the API server answers, and a SelfSubjectAccessReview
//! allows each verb and resource the runbook's kube steps use.

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::Api;
use kube::api::PostParams;

use super::client;
use crate::protocol::output::Stream;
use crate::runbook::kube::{Cluster, Permission};
use crate::runbook::progress::Outcome;

pub async fn check(
    cluster: &Cluster,
    ns: &str,
    needs: &[Permission],
    sink: &mut impl FnMut(Stream, String),
) -> Outcome {
    let fail = |reason: String| Outcome::Failure {
        reason,
        exit_code: None,
    };
    let client = match client::client(cluster).await {
        Ok(c) => c,
        Err(e) => return fail(e.to_string()),
    };
    let context = cluster.context.as_deref().unwrap_or("(current)");
    match client.apiserver_version().await {
        Ok(v) => sink(
            Stream::Info,
            format!(
                "API server answers: Kubernetes {} (context {context})",
                v.git_version
            ),
        ),
        Err(e) => {
            return fail(format!(
                "the API server does not answer (context {context}): {e}"
            ));
        }
    }
    let reviews: Api<SelfSubjectAccessReview> = Api::all(client);
    let mut denied = Vec::new();
    let mut asked = 0;
    for p in needs {
        let ns = if p.namespace.is_empty() {
            ns
        } else {
            &p.namespace
        };
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(p.verb.clone()),
                    group: Some(p.group.clone()),
                    resource: Some(p.resource.clone()),
                    subresource: (!p.subresource.is_empty()).then(|| p.subresource.clone()),
                    namespace: Some(ns.to_string()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        asked += 1;
        match reviews.create(&PostParams::default(), &review).await {
            Ok(r) => {
                let status = r.status.unwrap_or_default();
                if status.allowed {
                    sink(Stream::Info, format!("✔ may {p}"));
                } else {
                    let why = status.reason.unwrap_or_default();
                    sink(Stream::Stderr, format!("✘ may not {p} {why}"));
                    denied.push(p.to_string());
                }
            }
            Err(e) => return fail(format!("SelfSubjectAccessReview failed: {e}")),
        }
    }
    if denied.is_empty() {
        Outcome::Success {
            exit_code: None,
            note: Some(format!(
                "API answers; {asked} permission(s) allowed in context {context}"
            )),
        }
    } else {
        fail(format!("not allowed: {}", denied.join("; ")))
    }
}
