//! What changed since the last successful release of the same runbook and
//! environment: the runbook, the files it references, the inputs, and the
//! images its rollouts set. An approver reads this next to the gate. Pure:
//! both releases come from the journal's fold (`load_release`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::content::{ContentManifest, changed};
use super::interpolate::Scope;
use super::kube::KubeOp;
use super::model::{Runbook, StepAction};
use super::secrets::is_sealed;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SinceLast {
    /// The earlier release.
    pub release: String,
    pub finished_at: Option<i64>,
    /// The runbook's bytes differ (its SHA-256 then and now).
    pub runbook: Option<(String, String)>,
    /// Parts of the content that differ (`file deploy/app.yaml`, `cluster`);
    /// empty when the earlier release recorded no content.
    pub content: Vec<String>,
    pub inputs: Vec<ValueChange>,
    pub images: Vec<ImageDelta>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValueChange {
    pub name: String,
    /// `None`: not set then (or now).
    pub old: Option<String>,
    pub new: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageDelta {
    pub deployment: String,
    pub container: String,
    pub old: Option<String>,
    pub new: String,
}

/// One release as the comparison needs it.
pub struct Side<'a> {
    pub id: &'a str,
    pub runbook_hash: &'a str,
    /// Inputs as journaled (secrets sealed).
    pub inputs: &'a BTreeMap<String, String>,
    pub content: Option<&'a ContentManifest>,
    pub finished_at: Option<i64>,
}

/// What differs between `then` (the last successful release) and `now`.
pub fn since(rb: &Runbook, then: &Side<'_>, now: &Side<'_>) -> SinceLast {
    let runbook = (then.runbook_hash != now.runbook_hash)
        .then(|| (then.runbook_hash.to_string(), now.runbook_hash.to_string()));
    let content = match (then.content, now.content) {
        (Some(a), Some(b)) => changed(a, b)
            .into_iter()
            // The runbook and inputs have their own lines.
            .filter(|c| c != "runbook" && c != "inputs")
            .collect(),
        _ => Vec::new(),
    };
    let mut names: Vec<&String> = then.inputs.keys().chain(now.inputs.keys()).collect();
    names.sort();
    names.dedup();
    let shown = |v: Option<&String>| {
        v.map(|v| {
            if is_sealed(v) {
                "(secret)".to_string()
            } else {
                v.clone()
            }
        })
    };
    let inputs = names
        .into_iter()
        .filter(|n| {
            let (a, b) = (then.inputs.get(*n), now.inputs.get(*n));
            // Secrets are sealed with a salt per release: never compared.
            a != b && !(a.is_some_and(|v| is_sealed(v)) && b.is_some_and(|v| is_sealed(v)))
        })
        .map(|n| ValueChange {
            name: n.clone(),
            old: shown(then.inputs.get(n)),
            new: shown(now.inputs.get(n)),
        })
        .collect();
    SinceLast {
        release: then.id.to_string(),
        finished_at: then.finished_at,
        runbook,
        content,
        inputs,
        images: images(rb, then.inputs, now.inputs),
    }
}

/// Images the rollouts set, rendered with each release's inputs.
fn images(
    rb: &Runbook,
    then: &BTreeMap<String, String>,
    now: &BTreeMap<String, String>,
) -> Vec<ImageDelta> {
    let scope = |inputs: &BTreeMap<String, String>| Scope {
        inputs: inputs.clone(),
        ..Default::default()
    };
    let (a, b) = (scope(then), scope(now));
    let mut out = Vec::new();
    for step in rb.steps() {
        let StepAction::Kube(k) = &step.action else {
            continue;
        };
        let KubeOp::Rollout {
            deployment, images, ..
        } = &k.op
        else {
            continue;
        };
        let Ok(dep) = b.render(deployment) else {
            continue;
        };
        for (container, image) in images {
            let Ok(new) = b.render(image) else {
                continue;
            };
            let old = a.render(image).ok();
            if old.as_deref() != Some(new.as_str()) {
                out.push(ImageDelta {
                    deployment: dep.clone(),
                    container: container.clone(),
                    old,
                    new,
                });
            }
        }
    }
    out
}

impl SinceLast {
    /// Every value passed through `clean` (masks secrets, sanitizes).
    pub fn clean(mut self, clean: &dyn Fn(&str) -> String) -> SinceLast {
        let opt = |v: &mut Option<String>| {
            if let Some(s) = v {
                *s = clean(s);
            }
        };
        for i in &mut self.inputs {
            opt(&mut i.old);
            opt(&mut i.new);
        }
        for i in &mut self.images {
            opt(&mut i.old);
            i.new = clean(&i.new);
            i.deployment = clean(&i.deployment);
        }
        for c in &mut self.content {
            *c = clean(c);
        }
        self
    }
}

/// The comparison in lines a person reads.
pub fn lines(s: &SinceLast) -> Vec<String> {
    let mut out = vec![format!("since {}, the last successful release:", s.release)];
    let short = |h: &str| h.chars().take(12).collect::<String>();
    match &s.runbook {
        Some((a, b)) => out.push(format!("  runbook changed ({}… → {}…)", short(a), short(b))),
        None => out.push("  runbook unchanged".into()),
    }
    for c in &s.content {
        out.push(format!("  {c} changed"));
    }
    for i in &s.inputs {
        out.push(format!(
            "  input {}: {} → {}",
            i.name,
            i.old.as_deref().unwrap_or("(unset)"),
            i.new.as_deref().unwrap_or("(unset)")
        ));
    }
    for i in &s.images {
        out.push(format!(
            "  image {}/{}: {} → {}",
            i.deployment,
            i.container,
            i.old.as_deref().unwrap_or("?"),
            i.new
        ));
    }
    if s.runbook.is_none() && s.content.is_empty() && s.inputs.is_empty() && s.images.is_empty() {
        out.push("  nothing changed".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_images_and_runbook_changes_are_named() {
        let text = r#"
name: shop
inputs:
  image: { default: "shop:v1" }
  idle: { default: green }
  token: { secret: true, default: "x" }
stages:
  - id: s
    title: S
    steps:
      - id: roll
        kube.rollout:
          deployment: shop-${inputs.idle}
          images: { web: "${inputs.image}" }
"#;
        let rb = crate::runbook::parse_str(text, std::path::Path::new("x.yaml"))
            .unwrap()
            .runbook;
        let then_inputs = BTreeMap::from([
            ("image".to_string(), "shop:v1".to_string()),
            ("idle".to_string(), "green".to_string()),
            ("token".to_string(), format!("sha256:aa:{}", "b".repeat(64))),
        ]);
        let mut now_inputs = then_inputs.clone();
        now_inputs.insert("image".into(), "shop:v2".into());
        now_inputs.insert("token".into(), format!("sha256:cc:{}", "d".repeat(64)));
        let then = Side {
            id: "r1",
            runbook_hash: "aaa",
            inputs: &then_inputs,
            content: None,
            finished_at: Some(1),
        };
        let now = Side {
            id: "r2",
            runbook_hash: "bbb",
            inputs: &now_inputs,
            content: None,
            finished_at: None,
        };
        let s = since(&rb, &then, &now);
        assert_eq!(s.runbook, Some(("aaa".into(), "bbb".into())));
        assert_eq!(s.inputs.len(), 1, "{:?}", s.inputs);
        assert_eq!(s.inputs[0].name, "image");
        assert_eq!(
            s.images,
            vec![ImageDelta {
                deployment: "shop-green".into(),
                container: "web".into(),
                old: Some("shop:v1".into()),
                new: "shop:v2".into()
            }]
        );
        let l = lines(&s);
        assert!(
            l.contains(&"  input image: shop:v1 → shop:v2".to_string()),
            "{l:?}"
        );
        assert!(
            l.contains(&"  image shop-green/web: shop:v1 → shop:v2".to_string()),
            "{l:?}"
        );
        let same = since(&rb, &then, &then);
        assert_eq!(lines(&same).last().unwrap(), "  nothing changed");
    }
}
