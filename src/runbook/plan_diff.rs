//! A live object against what it will become (a server-side dry run, or a
//! value a step sets), field by field: added, changed, removed. Noise the
//! API server keeps changing by itself (managedFields, resourceVersion,
//! generation, uid, timestamps, status) is left out so only what the step
//! changes is shown. Pure.

use serde::Serialize;
use serde_json::Value;

/// One object's changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectDiff {
    /// `Kind/name` (namespace when not the step's).
    pub object: String,
    /// The object does not exist yet: every field is added.
    pub created: bool,
    pub changes: Vec<FieldChange>,
}

/// One field: `live` absent = added, `new` absent = removed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    /// `spec.template.spec.containers[web].image`
    pub path: String,
    pub live: Option<String>,
    pub new: Option<String>,
}

impl FieldChange {
    pub fn verb(&self) -> &'static str {
        match (&self.live, &self.new) {
            (None, _) => "added",
            (_, None) => "removed",
            _ => "changed",
        }
    }
}

const NOISE_METADATA: [&str; 7] = [
    "managedFields",
    "resourceVersion",
    "generation",
    "uid",
    "creationTimestamp",
    "selfLink",
    "deletionGracePeriodSeconds",
];

/// Annotations the server or kubectl maintain themselves.
const NOISE_ANNOTATIONS: [&str; 2] = [
    "deployment.kubernetes.io/revision",
    "kubectl.kubernetes.io/last-applied-configuration",
];

/// The fields that differ between `live` (`None`: not there yet) and `new`.
pub fn diff_objects(live: Option<&Value>, new: &Value) -> Vec<FieldChange> {
    let empty = Value::Object(Default::default());
    let mut out = Vec::new();
    walk("", &strip(live.unwrap_or(&empty)), &strip(new), &mut out);
    out
}

fn strip(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("status");
        if let Some(m) = o.get_mut("metadata").and_then(Value::as_object_mut) {
            for k in NOISE_METADATA {
                m.remove(k);
            }
            if let Some(a) = m.get_mut("annotations").and_then(Value::as_object_mut) {
                for k in NOISE_ANNOTATIONS {
                    a.remove(k);
                }
                if a.is_empty() {
                    m.remove("annotations");
                }
            }
        }
    }
    v
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A scalar (or small value) as one line.
fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Lists of named things (containers, ports, env) are matched by name so a
/// reorder is not a change and the path names the container.
fn named(items: &[Value]) -> Option<Vec<(String, &Value)>> {
    items
        .iter()
        .map(|i| {
            i.get("name")
                .and_then(Value::as_str)
                .map(|n| (n.to_string(), i))
        })
        .collect()
}

fn walk(path: &str, live: &Value, new: &Value, out: &mut Vec<FieldChange>) {
    match (live, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = join(path, k);
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => walk(&p, x, y, out),
                    (None, Some(y)) => leaves(&p, y, false, out),
                    (Some(x), None) => leaves(&p, x, true, out),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if let (Some(na), Some(nb)) = (named(a), named(b)) {
                let mut names: Vec<&String> = na.iter().chain(&nb).map(|(n, _)| n).collect();
                names.sort();
                names.dedup();
                for n in names {
                    let p = format!("{path}[{n}]");
                    let x = na.iter().find(|(m, _)| m == n).map(|(_, v)| *v);
                    let y = nb.iter().find(|(m, _)| m == n).map(|(_, v)| *v);
                    match (x, y) {
                        (Some(x), Some(y)) => walk(&p, x, y, out),
                        (None, Some(y)) => leaves(&p, y, false, out),
                        (Some(x), None) => leaves(&p, x, true, out),
                        (None, None) => {}
                    }
                }
            } else if a != b {
                out.push(FieldChange {
                    path: path.to_string(),
                    live: Some(show(live)),
                    new: Some(show(new)),
                });
            }
        }
        _ if live != new => out.push(FieldChange {
            path: path.to_string(),
            live: Some(show(live)),
            new: Some(show(new)),
        }),
        _ => {}
    }
}

/// Every leaf of `v` as added (or removed).
fn leaves(path: &str, v: &Value, removed: bool, out: &mut Vec<FieldChange>) {
    match v {
        Value::Object(o) if !o.is_empty() => {
            for (k, x) in o {
                leaves(&join(path, k), x, removed, out);
            }
        }
        _ => {
            let shown = Some(show(v));
            out.push(FieldChange {
                path: path.to_string(),
                live: if removed { shown.clone() } else { None },
                new: if removed { None } else { shown },
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_added_changed_and_removed_fields_without_noise() {
        let live = json!({
            "metadata": { "name": "web", "resourceVersion": "1", "generation": 3,
                "managedFields": [{"manager": "kubectl"}],
                "annotations": { "deployment.kubernetes.io/revision": "2" },
                "labels": { "app": "web", "tier": "front" } },
            "spec": { "replicas": 2, "template": { "spec": { "containers": [
                { "name": "sidecar", "image": "envoy:1" },
                { "name": "web", "image": "web:v1" } ] } } },
            "status": { "replicas": 2 }
        });
        let new = json!({
            "metadata": { "name": "web", "resourceVersion": "2", "generation": 4,
                "annotations": { "deployment.kubernetes.io/revision": "3" },
                "labels": { "app": "web", "team": "shop" } },
            "spec": { "replicas": 3, "template": { "spec": { "containers": [
                { "name": "web", "image": "web:v2" },
                { "name": "sidecar", "image": "envoy:1" } ] } } },
            "status": { "replicas": 3 }
        });
        let d = diff_objects(Some(&live), &new);
        let shown: Vec<String> = d
            .iter()
            .map(|c| format!("{} {} {:?} {:?}", c.verb(), c.path, c.live, c.new))
            .collect();
        assert_eq!(
            shown,
            vec![
                "added metadata.labels.team None Some(\"shop\")",
                "removed metadata.labels.tier Some(\"front\") None",
                "changed spec.replicas Some(\"2\") Some(\"3\")",
                "changed spec.template.spec.containers[web].image Some(\"web:v1\") Some(\"web:v2\")",
            ]
        );
    }

    #[test]
    fn a_new_object_is_all_added_and_an_equal_one_is_nothing() {
        let new = json!({ "kind": "ConfigMap", "data": { "a": "1" } });
        let d = diff_objects(None, &new);
        assert_eq!(d.len(), 2);
        assert!(d.iter().all(|c| c.verb() == "added"));
        assert!(diff_objects(Some(&new), &new).is_empty());
        // Unnamed lists compare whole.
        let a = json!({ "args": ["a", "b"] });
        let b = json!({ "args": ["a", "c"] });
        assert_eq!(diff_objects(Some(&a), &b)[0].path, "args");
    }
}
