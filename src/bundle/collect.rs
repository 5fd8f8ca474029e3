//! Listing the kinds of a bundle, all at once. Each kind has a producer (an async LIST,
//! page by page, 500 items a page) feeding a bounded channel, and a writer thread that
//! selects, transforms and compresses its items one at a time into the kind's file
//! (`writer::ListWriter`). Memory therefore holds a few pages per kind, whatever the
//! size of the cluster. Kinds whose selection needs another kind's items
//! (ClusterRoleBindings the ServiceAccounts, ClusterRoles the selected bindings, PVCs
//! the Longhorn PVs' classes; docs/longhorn-behaviour.md, "The bundle") are listed at once too: their items wait in an
//! unlinked temporary file until those facts are known.

use std::collections::HashSet;
use std::io::{BufRead, Seek, Write};
use std::path::{Path, PathBuf};

use futures::TryStreamExt;
use serde_json::Value;
use tokio::sync::{SetOnce, mpsc};

use super::error::{Error, Result};
use super::layout::{self, Kind, Rule, Scope};
use super::selection::{self, AccountKey, Facts};
use super::writer::{ListWriter, Spool, entry_path};
use crate::kube::api::RawPage;
use crate::kube::{Collection, Selector};
use crate::longhorn::Longhorn;
use crate::longhorn::install::not_installed;
use crate::longhorn::manager::{MANAGER, manager_image};
use crate::longhorn::resources::{GROUP, LonghornKind};
use crate::output::file::write_error;
use crate::output::progress::{Counter, Counters};

/// Where the collected files go.
pub struct Destination<'a> {
    /// The bundle's name: its top-level folder.
    pub name: &'a str,
    /// The output file (for messages); spools go to its directory.
    pub target: &'a Path,
    pub dir: PathBuf,
}

/// What listing found besides the files.
#[derive(Debug, Default)]
pub struct Gathered {
    accounts: HashSet<AccountKey>,
    bound_roles: HashSet<String>,
    volume_classes: HashSet<String>,
    /// From DaemonSet longhorn-manager (`--manager-image`).
    pub manager_image: Option<String>,
    /// Volumes without `status.lastBackup` (and not standby): they restore empty.
    pub volumes_without_backup: Vec<String>,
}

/// One finished file of the bundle.
pub struct Collected {
    pub kind: Kind,
    pub spool: Spool,
}

/// Lists every kind concurrently and returns their files in `kinds` order.
pub async fn collect(
    longhorn: &Longhorn,
    kinds: &[Kind],
    destination: &Destination<'_>,
    counters: &Counters,
) -> Result<(Vec<Collected>, Gathered)> {
    let accounts: SetOnce<HashSet<AccountKey>> = SetOnce::new();
    let bound_roles: SetOnce<HashSet<String>> = SetOnce::new();
    let volume_classes: SetOnce<HashSet<String>> = SetOnce::new();
    let jobs = kinds.iter().map(|&kind| {
        let counter = counters.add(&kind.resource_name());
        let (accounts, bound_roles, volume_classes) = (&accounts, &bound_roles, &volume_classes);
        // What the rule needs from other kinds; the kind is listed meanwhile.
        let facts = async move {
            let mut facts = Facts::default();
            match kind.rule {
                Rule::BindsLonghornServiceAccount => {
                    facts.service_accounts = accounts.wait().await.clone();
                }
                Rule::BoundClusterRole => {
                    facts.bound_cluster_roles = bound_roles.wait().await.clone();
                }
                Rule::ClaimOfLonghornClass => {
                    facts.volume_classes = volume_classes.wait().await.clone();
                }
                _ => {}
            }
            facts
        };
        async move {
            let (spool, gathered) =
                collect_kind(longhorn, kind, facts, destination, &counter).await?;
            counter.done("");
            // The kinds that others wait for publish what they found.
            match kind {
                layout::SERVICE_ACCOUNTS => {
                    let _ = accounts.set(gathered.accounts.clone());
                }
                layout::CLUSTER_ROLE_BINDINGS => {
                    let _ = bound_roles.set(gathered.bound_roles.clone());
                }
                layout::PERSISTENT_VOLUMES => {
                    let _ = volume_classes.set(gathered.volume_classes.clone());
                }
                _ => {}
            }
            Ok::<_, Error>((Collected { kind, spool }, gathered))
        }
    });
    let results = futures::future::try_join_all(jobs).await?;
    let mut gathered = Gathered::default();
    let mut files = Vec::with_capacity(results.len());
    for (file, found) in results {
        gathered.manager_image = gathered.manager_image.or(found.manager_image);
        gathered
            .volumes_without_backup
            .extend(found.volumes_without_backup);
        files.push(file);
    }
    Ok((files, gathered))
}

enum Message {
    Page(RawPage),
    /// What the rule needs from other kinds, once they are listed.
    Facts(Facts),
    End,
}

/// Whether a rule depends on other kinds (and so waits for [`Message::Facts`]).
fn needs_facts(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::BindsLonghornServiceAccount | Rule::BoundClusterRole | Rule::ClaimOfLonghornClass
    )
}

/// One kind: its LIST pages go to a writer thread through a channel of one page, so
/// the next page is fetched while the current one is written. A kind whose selection
/// needs other kinds is listed at once all the same; `facts` resolves when they are.
async fn collect_kind(
    longhorn: &Longhorn,
    kind: Kind,
    facts: impl Future<Output = Facts>,
    destination: &Destination<'_>,
    counter: &Counter,
) -> Result<(Spool, Gathered)> {
    let path = entry_path(destination.name, &kind.path());
    let list = ListWriter::start(
        &destination.dir,
        destination.target,
        &path,
        &kind.api_version(),
    )?;
    let (sender, receiver) = mpsc::channel(1);
    let worker = {
        let counter = counter.clone();
        let dir = destination.dir.clone();
        let target = destination.target.to_path_buf();
        tokio::task::spawn_blocking(move || {
            write_kind(kind, receiver, list, &counter, &dir, &target)
        })
    };
    let namespace = longhorn.namespace();
    let list_namespace = match kind.scope {
        Scope::Namespace => Some(namespace),
        Scope::Cluster | Scope::AllNamespaces => None,
    };
    let listed = Collection::new(kind.api_resource(), list_namespace);
    let facts_sender = sender.clone();
    let send_facts = async move {
        if needs_facts(kind.rule) {
            let facts = facts.await;
            let _ = facts_sender.send(Message::Facts(facts)).await;
        }
    };
    let produced = async move {
        let pages = longhorn.kube().list_raw_pages(&listed, Selector::default());
        let mut pages = std::pin::pin!(pages);
        while let Some(page) = pages
            .try_next()
            .await
            .map_err(|e| explain_list_error(kind, namespace, e))?
        {
            if sender.send(Message::Page(page)).await.is_err() {
                // The writer stopped: its error is the one to report.
                return Ok(());
            }
        }
        let _ = sender.send(Message::End).await;
        Ok::<_, Error>(())
    };
    // Dropping the senders (here) ends the writer if the listing failed.
    let ((), produced) = tokio::join!(send_facts, produced);
    produced?;
    worker.await.map_err(|source| Error::Internal {
        what: format!("the writer of {}", kind.plural),
        source,
    })?
}

/// Items of a kind that arrived before the facts its rule needs, kept as JSON lines in
/// an unlinked temporary file (memory stays bounded by a page).
struct Held {
    writer: std::io::BufWriter<std::fs::File>,
}

impl Held {
    fn new(dir: &Path, target: &Path) -> Result<Self> {
        let file = tempfile::tempfile_in(dir).map_err(|e| write_error(target, e))?;
        Ok(Held {
            writer: std::io::BufWriter::new(file),
        })
    }

    /// The server's JSON has no raw newlines (they are escaped in strings).
    fn hold(&mut self, raw: &str, target: &Path) -> Result<()> {
        self.writer
            .write_all(raw.as_bytes())
            .and_then(|()| self.writer.write_all(b"\n"))
            .map_err(|e| write_error(target, e).into())
    }

    /// The held items, in the order they came.
    fn release(self, target: &Path) -> Result<impl Iterator<Item = std::io::Result<String>>> {
        let mut file = self
            .writer
            .into_inner()
            .map_err(|e| write_error(target, e.into_error()))?;
        file.rewind().map_err(|e| write_error(target, e))?;
        Ok(std::io::BufReader::new(file).lines())
    }
}

/// The writer thread of one kind: select, gather facts, transform, write.
fn write_kind(
    kind: Kind,
    mut receiver: mpsc::Receiver<Message>,
    mut list: ListWriter,
    counter: &Counter,
    dir: &Path,
    target: &Path,
) -> Result<(Spool, Gathered)> {
    let mut gathered = Gathered::default();
    let mut resource_version: Option<String> = None;
    let mut facts = (!needs_facts(kind.rule)).then(Facts::default);
    let mut held: Option<Held> = None;
    let mut ended = false;
    let mut write = |raw: &str, facts: &Facts, gathered: &mut Gathered| -> Result<()> {
        let mut item: Value =
            serde_json::from_str(raw).map_err(|source| Error::UnreadableItem {
                kind: kind.kind.to_string(),
                source,
            })?;
        if !selection::keeps(kind.rule, &item, facts) {
            return Ok(());
        }
        gather(kind, &item, gathered);
        if kind == layout::SERVICES {
            selection::clear_cluster_ips(&mut item);
        }
        list.item(&item)?;
        counter.inc();
        Ok(())
    };
    while !(ended && facts.is_some()) {
        match receiver.blocking_recv() {
            Some(Message::Page(page)) => {
                if resource_version.is_none() {
                    resource_version = page.resource_version().map(str::to_string);
                }
                for raw in page.items() {
                    match &facts {
                        Some(facts) => write(raw.get(), facts, &mut gathered)?,
                        None => {
                            if held.is_none() {
                                held = Some(Held::new(dir, target)?);
                            }
                            if let Some(held) = held.as_mut() {
                                held.hold(raw.get(), target)?;
                            }
                        }
                    }
                }
            }
            Some(Message::Facts(known)) => {
                if let Some(held) = held.take() {
                    for line in held.release(target)? {
                        let line = line.map_err(|e| write_error(target, e))?;
                        write(&line, &known, &mut gathered)?;
                    }
                }
                facts = Some(known);
            }
            Some(Message::End) => ended = true,
            // The listing was abandoned (an error elsewhere, or Ctrl-C).
            None => return Err(Error::Interrupted),
        }
    }
    let spool = list.finish(&kind.list_kind(), resource_version.as_deref())?;
    Ok((spool, gathered))
}

/// Records what other kinds or the summary need from a selected item.
fn gather(kind: Kind, item: &Value, gathered: &mut Gathered) {
    let name = || {
        item.pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    match kind {
        layout::SERVICE_ACCOUNTS => {
            gathered
                .accounts
                .insert(selection::service_account_key(item));
        }
        layout::CLUSTER_ROLE_BINDINGS => {
            gathered
                .bound_roles
                .insert(selection::role_ref_name(item).to_string());
        }
        layout::PERSISTENT_VOLUMES => {
            gathered
                .volume_classes
                .insert(selection::volume_class(item).to_string());
        }
        layout::DAEMON_SETS if name() == MANAGER => {
            gathered.manager_image = manager_image(item);
        }
        layout::VOLUMES if !has_backup(item) && !is_standby(item) => {
            gathered.volumes_without_backup.push(name());
        }
        _ => {}
    }
}

pub fn has_backup(volume: &Value) -> bool {
    volume
        .pointer("/status/lastBackup")
        .and_then(Value::as_str)
        .is_some_and(|b| !b.is_empty())
}

pub fn is_standby(volume: &Value) -> bool {
    volume.pointer("/status/isStandby").and_then(Value::as_bool) == Some(true)
}

/// Says which kind could not be listed, and for a refusal what the user needs.
fn explain_list_error(kind: Kind, namespace: &str, error: crate::kube::Error) -> Error {
    let scope = match kind.scope {
        Scope::Namespace => format!("in namespace {namespace}"),
        Scope::Cluster => "cluster-wide".to_string(),
        Scope::AllNamespaces => "in all namespaces".to_string(),
    };
    if error.is_forbidden() {
        return Error::ListForbidden {
            resource: kind.resource_name(),
            scope,
            source: error,
        };
    }
    if error.is_missing_resource_type() && kind.group == GROUP {
        return not_installed(LonghornKind {
            kind: kind.kind,
            plural: kind.plural,
        })
        .into();
    }
    error.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn gathers_facts_from_selected_items() {
        let mut gathered = Gathered::default();
        gather(
            layout::SERVICE_ACCOUNTS,
            &json!({"metadata": {"namespace": "longhorn-system", "name": "sa"}}),
            &mut gathered,
        );
        gather(
            layout::CLUSTER_ROLE_BINDINGS,
            &json!({"roleRef": {"name": "longhorn-role"}}),
            &mut gathered,
        );
        gather(
            layout::PERSISTENT_VOLUMES,
            &json!({"spec": {}}),
            &mut gathered,
        );
        gather(
            layout::VOLUMES,
            &json!({"metadata": {"name": "v1"}, "status": {"lastBackup": ""}}),
            &mut gathered,
        );
        gather(
            layout::VOLUMES,
            &json!({"metadata": {"name": "v2"}, "status": {"lastBackup": "b"}}),
            &mut gathered,
        );
        gather(
            layout::VOLUMES,
            &json!({"metadata": {"name": "dr"}, "status": {"isStandby": true}}),
            &mut gathered,
        );
        assert!(
            gathered
                .accounts
                .contains(&("longhorn-system".into(), "sa".into()))
        );
        assert!(gathered.bound_roles.contains("longhorn-role"));
        assert!(
            gathered.volume_classes.contains(""),
            "a PV without class counts as \"\""
        );
        assert_eq!(gathered.volumes_without_backup, ["v1"]);
    }

    fn page(items: &[Value], resource_version: &str) -> Message {
        let page = json!({"metadata": {"resourceVersion": resource_version}, "items": items});
        Message::Page(serde_json::from_value(page).unwrap())
    }

    fn claim(name: &str, class: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": "apps"}, "spec": {"storageClassName": class}})
    }

    type Writer = std::thread::JoinHandle<Result<(Spool, Gathered)>>;

    /// A PVC writer thread on a fresh entry, and the channel that feeds it.
    fn pvc_writer(dir: &Path, entry: &str) -> (mpsc::Sender<Message>, Writer) {
        let target = dir.join("b.zip");
        let list = ListWriter::start(dir, &target, entry, "v1").unwrap();
        let (sender, receiver) = mpsc::channel(1);
        let counter = Counters::new(false).add("pvc");
        let dir = dir.to_path_buf();
        let kind = layout::PERSISTENT_VOLUME_CLAIMS;
        let writer =
            std::thread::spawn(move || write_kind(kind, receiver, list, &counter, &dir, &target));
        (sender, writer)
    }

    fn longhorn_classes() -> Message {
        Message::Facts(Facts {
            volume_classes: ["longhorn".to_string()].into(),
            ..Facts::default()
        })
    }

    /// PVCs listed before the Longhorn PVs' classes are known wait on disk, then are
    /// selected in the order they came.
    #[test]
    fn items_wait_for_the_facts_their_rule_needs() {
        let dir = tempfile::tempdir().unwrap();
        let (sender, writer) = pvc_writer(dir.path(), "b/x.yaml");
        sender
            .blocking_send(page(
                &[claim("a", "longhorn"), claim("b", "local-path")],
                "7",
            ))
            .unwrap();
        sender.blocking_send(Message::End).unwrap();
        sender.blocking_send(longhorn_classes()).unwrap();
        let (spool, _) = writer.join().unwrap().unwrap();
        assert_eq!(spool.count, 1, "only the claim of a Longhorn class");

        // Facts first, then pages: selected as they stream.
        let (sender, writer) = pvc_writer(dir.path(), "b/y.yaml");
        sender.blocking_send(longhorn_classes()).unwrap();
        sender
            .blocking_send(page(&[claim("c", "longhorn"), claim("d", "longhorn")], "8"))
            .unwrap();
        sender.blocking_send(Message::End).unwrap();
        assert_eq!(writer.join().unwrap().unwrap().0.count, 2);

        // A listing abandoned before the facts came is no bundle file.
        let (sender, writer) = pvc_writer(dir.path(), "b/z.yaml");
        sender
            .blocking_send(page(&[claim("e", "longhorn")], "9"))
            .unwrap();
        sender.blocking_send(Message::End).unwrap();
        drop(sender);
        assert!(matches!(writer.join().unwrap(), Err(Error::Interrupted)));
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "spools are unlinked"
        );
    }

    #[test]
    fn forbidden_names_the_kind_and_scope() {
        let status = kube::core::Status::failure("persistentvolumes is forbidden: User \"limited\" cannot list resource \"persistentvolumes\"", "Forbidden").with_code(403);
        let error = explain_list_error(
            layout::PERSISTENT_VOLUMES,
            "longhorn-system",
            crate::kube::Error::Api(Box::new(status)),
        );
        let text = error.to_string();
        assert!(
            text.starts_with(
                "you may not list persistentvolumes (cluster-wide): persistentvolumes is forbidden"
            ),
            "{text}"
        );
        let status = kube::core::Status::failure("no", "Forbidden").with_code(403);
        let text = explain_list_error(
            layout::VOLUMES,
            "lh",
            crate::kube::Error::Api(Box::new(status)),
        )
        .to_string();
        assert!(
            text.starts_with("you may not list volumes.longhorn.io (in namespace lh): no"),
            "{text}"
        );
    }
}
