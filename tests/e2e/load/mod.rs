//! Load: many objects, and an API server that throttles. Each test has a control
//! plane of its own (it restarts the apiserver or fills a namespace). The throttled
//! ones restart the apiserver with one read-only and one mutating request in flight
//! (`--max-requests-inflight=1 --max-mutating-requests-inflight=1`, priority and
//! fairness off), keep those slots busy with a load generator, and run the plugin as a
//! user outside `system:masters` (which the limit would let through): the apiserver
//! then answers the plugin `429 Too Many Requests` with `Retry-After: 1`, and its
//! audit log shows when the plugin came back. docs/reliability.md lists what each
//! test proves.

use std::path::PathBuf;

use longhorn_ground::Longhorn;
use longhorn_ground::audit::{AuditEvent, AuditLog, Load};

mod throttled;

/// The plugin's user in the throttled tests, and the load generator's.
const PLUGIN_USER: &str = "plugin-under-load";
const LOAD_USER: &str = "load-generator";

/// An environment whose apiserver now throttles, with the plugin's kubeconfig and a
/// load generator keeping the limited slots busy.
struct Throttled {
    audit: AuditLog,
    plugin_kubeconfig: PathBuf,
    load: Option<Load>,
}

impl Throttled {
    /// Restarts `env`'s apiserver with tiny inflight limits and starts `concurrency`
    /// loops reading `paths` (relative to the Longhorn namespace's API paths).
    async fn start(env: &Longhorn, paths: &[String], concurrency: usize) -> Self {
        let plugin_kubeconfig = env
            .cluster_admin_kubeconfig(PLUGIN_USER)
            .await
            .expect("the plugin's kubeconfig");
        let load_kubeconfig = env
            .cluster_admin_kubeconfig(LOAD_USER)
            .await
            .expect("the load generator's kubeconfig");
        let audit = env
            .plane()
            .restart_throttled(&[PLUGIN_USER])
            .await
            .expect("the apiserver restarts with tiny inflight limits");
        let load = Load::start(&load_kubeconfig, paths, concurrency)
            .await
            .expect("the load generator starts");
        Throttled {
            audit,
            plugin_kubeconfig,
            load: Some(load),
        }
    }

    /// `--kubeconfig <the plugin user's> -n <namespace> ARGS`.
    fn args(&self, env: &Longhorn, args: &[&str]) -> Vec<String> {
        let mut full = vec![
            "--kubeconfig".to_string(),
            self.plugin_kubeconfig.display().to_string(),
            "-n".to_string(),
            env.namespace().to_string(),
        ];
        full.extend(args.iter().map(|a| a.to_string()));
        full
    }

    /// Stops the load generator (the apiserver still throttles).
    fn stop_load(&mut self) -> usize {
        self.load.take().map_or(0, |load| load.sent())
    }

    /// The plugin's requests as the apiserver saw them, and a check that it backed
    /// off as told: after every 429 the same request came again no sooner than the
    /// `Retry-After: 1` it was given, and no request was sent more than `max_tries`
    /// times. Fails unless the plugin was throttled at least once: a test of backing
    /// off that never met a 429 proves nothing.
    fn assert_backed_off(&self, max_tries: usize) -> Vec<AuditEvent> {
        let events = self.audit.of(PLUGIN_USER);
        let throttled: Vec<&AuditEvent> = events.iter().filter(|e| e.throttled()).collect();
        assert!(
            !throttled.is_empty(),
            "the apiserver never throttled the plugin ({} requests): the load is too light to prove anything",
            events.len()
        );
        let mut problems = Vec::new();
        for refused in &throttled {
            let again = events.iter().find(|e| {
                e.uri == refused.uri && e.verb == refused.verb && e.received > refused.received
            });
            match again {
                Some(again) => {
                    let waited = again.received.duration_since(refused.completed);
                    if waited < jiff::SignedDuration::from_millis(900) {
                        problems.push(format!(
                            "{} {} came again {waited:#} after a 429 with Retry-After: 1",
                            refused.verb, refused.uri
                        ));
                    }
                }
                None => problems.push(format!(
                    "{} {} was never sent again after a 429",
                    refused.verb, refused.uri
                )),
            }
        }
        let mut tries: std::collections::BTreeMap<(&str, &str), usize> = Default::default();
        for event in &events {
            *tries.entry((&event.verb, &event.uri)).or_default() += 1;
        }
        for ((verb, uri), count) in tries {
            if count > max_tries {
                problems.push(format!("{verb} {uri} was sent {count} times"));
            }
        }
        eprintln!(
            "the plugin sent {} requests; {} were answered 429",
            events.len(),
            throttled.len()
        );
        assert!(
            problems.is_empty(),
            "the plugin did not back off as told ({} requests, {} throttled):\n{}",
            events.len(),
            throttled.len(),
            problems.join("\n")
        );
        events
    }
}

/// A namespaced list path of a Longhorn kind, for the load generator.
fn longhorn_list_path(env: &Longhorn, plural: &str) -> String {
    format!(
        "/apis/longhorn.io/v1beta2/namespaces/{}/{plural}",
        env.namespace()
    )
}
