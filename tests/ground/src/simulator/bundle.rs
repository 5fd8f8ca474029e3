//! The system-backup bundle: a zip whose single top-level directory is the backup
//! name, holding `metadata.yaml` and one typed List per file under
//! `yamls/{apiextensions,kubernetes,longhorn}/` (simulator-spec.md §4,
//! longhorn-system-backup.md §3). The ground writes its own; the plugin has another.

use std::collections::BTreeSet;
use std::io::{Cursor, Write};

use serde_json::{Value, json};
use zip::write::SimpleFileOptions;

use super::Sim;
use crate::longhorn::{CSI_DRIVER, GROUP};

/// One file of the bundle: its path under `yamls/` and the List it holds.
struct ListFile {
    path: String,
    list: Value,
}

/// Lists the resources Longhorn backs up and writes the zip (in memory).
pub(crate) async fn generate(sim: &Sim, name: &str) -> Result<Vec<u8>, String> {
    let metadata = metadata_yaml(sim).await?;
    let mut files = Vec::new();
    files.push(ListFile {
        path: "apiextensions/customresourcedefinitions.yaml".into(),
        list: filtered(
            list(
                sim,
                "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            )
            .await?,
            |crd| crd.pointer("/spec/group").and_then(Value::as_str) == Some(GROUP),
        ),
    });
    files.extend(kubernetes_files(sim).await?);
    files.extend(longhorn_files(sim).await?);
    let zip = tokio::task::spawn_blocking({
        let name = name.to_string();
        move || write_zip(&name, &metadata, &files)
    })
    .await
    .map_err(|e| e.to_string())?;
    zip.map_err(|e| format!("failed to archive system backup file: {e}"))
}

/// `metadata.yaml`, written by yaml.v2, which ignores json tags: lower-cased Go field
/// names (simulator-spec.md §4 step 3).
async fn metadata_yaml(sim: &Sim) -> Result<String, String> {
    let namespace = raw_get(sim, &format!("/api/v1/namespaces/{}", sim.namespace)).await?;
    let uid = namespace
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Ok(format!(
        "longhornversion: {}\nlonghorngitcommit: {}\nkubernetesversion: {}\nlonghornnamespaceuuid: {uid}\nsystembackupcreatedat: \"0001-01-01T00:00:00Z\"\nmanagerimage: {}\n",
        sim.version,
        sim.version.git_commit(),
        sim.kubernetes_version,
        sim.manager_image,
    ))
}

async fn kubernetes_files(sim: &Sim) -> Result<Vec<ListFile>, String> {
    let ns = &sim.namespace;
    let service_accounts = list(sim, &format!("/api/v1/namespaces/{ns}/serviceaccounts")).await?;
    let account_names: BTreeSet<String> = items(&service_accounts)
        .iter()
        .filter_map(|sa| {
            sa.pointer("/metadata/name")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    let bindings = filtered(
        list(
            sim,
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        )
        .await?,
        |binding| {
            binding
                .get("subjects")
                .and_then(Value::as_array)
                .is_some_and(|subjects| {
                    subjects.iter().any(|s| {
                        s.get("kind").and_then(Value::as_str) == Some("ServiceAccount")
                            && s.get("namespace").and_then(Value::as_str) == Some(ns)
                            && s.get("name")
                                .and_then(Value::as_str)
                                .is_some_and(|n| account_names.contains(n))
                    })
                })
        },
    );
    let bound_roles: BTreeSet<String> = items(&bindings)
        .iter()
        .filter_map(|b| {
            b.pointer("/roleRef/name")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    let cluster_roles = filtered(
        list(sim, "/apis/rbac.authorization.k8s.io/v1/clusterroles").await?,
        |role| {
            role.pointer("/metadata/name")
                .and_then(Value::as_str)
                .is_some_and(|n| bound_roles.contains(n))
        },
    );
    let mut services = list(sim, &format!("/api/v1/namespaces/{ns}/services")).await?;
    for service in services
        .get_mut("items")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(spec) = service.get_mut("spec").and_then(Value::as_object_mut) {
            spec.remove("clusterIP");
            spec.remove("clusterIPs");
        }
    }
    let persistent_volumes = filtered(list(sim, "/api/v1/persistentvolumes").await?, |pv| {
        pv.pointer("/spec/csi/driver").and_then(Value::as_str) == Some(CSI_DRIVER)
    });
    let classes: BTreeSet<String> = items(&persistent_volumes)
        .iter()
        .filter_map(|pv| {
            pv.pointer("/spec/storageClassName")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    let claims = filtered(list(sim, "/api/v1/persistentvolumeclaims").await?, |pvc| {
        pvc.pointer("/spec/storageClassName")
            .and_then(Value::as_str)
            .is_some_and(|c| classes.contains(c))
    });
    let storage_classes = filtered(
        list(sim, "/apis/storage.k8s.io/v1/storageclasses").await?,
        |sc| sc.get("provisioner").and_then(Value::as_str) == Some(CSI_DRIVER),
    );
    // Longhorn's file names, including its swap: clusterroles.yaml holds the
    // ClusterRoleBindingList and clusterrolebindings.yaml the ClusterRoleList.
    let files = [
        ("serviceaccounts", service_accounts),
        ("clusterroles", bindings),
        ("clusterrolebindings", cluster_roles),
        (
            "roles",
            list(
                sim,
                &format!("/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles"),
            )
            .await?,
        ),
        (
            "rolebindings",
            list(
                sim,
                &format!("/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings"),
            )
            .await?,
        ),
        (
            "daemonsets",
            list(sim, &format!("/apis/apps/v1/namespaces/{ns}/daemonsets")).await?,
        ),
        (
            "deployments",
            list(sim, &format!("/apis/apps/v1/namespaces/{ns}/deployments")).await?,
        ),
        (
            "configmaps",
            list(sim, &format!("/api/v1/namespaces/{ns}/configmaps")).await?,
        ),
        ("services", services),
        ("storageclasses", storage_classes),
        ("persistentvolumes", persistent_volumes),
        ("persistentvolumeclaims", claims),
    ];
    Ok(files
        .into_iter()
        .map(|(file, list)| ListFile {
            path: format!("kubernetes/{file}.yaml"),
            list,
        })
        .collect())
}

async fn longhorn_files(sim: &Sim) -> Result<Vec<ListFile>, String> {
    let mut files = Vec::new();
    for (file, plural) in [
        ("setting", "settings"),
        ("engineimages", "engineimages"),
        ("volumes", "volumes"),
        ("recurringjobs", "recurringjobs"),
        ("backingimages", "backingimages"),
        ("backuptargets", "backuptargets"),
    ] {
        let list = list(
            sim,
            &format!(
                "/apis/{GROUP}/v1beta2/namespaces/{}/{plural}",
                sim.namespace
            ),
        )
        .await?;
        files.push(ListFile {
            path: format!("longhorn/{file}.yaml"),
            list,
        });
    }
    Ok(files)
}

fn items(list: &Value) -> &[Value] {
    list.get("items")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn filtered(mut list: Value, keep: impl Fn(&Value) -> bool) -> Value {
    let kept: Vec<Value> = items(&list)
        .iter()
        .filter(|item| keep(item))
        .cloned()
        .collect();
    list["items"] = json!(kept);
    list
}

/// A List as the apiserver returns it: typed (`kind: …List`, `apiVersion`), list
/// `metadata.resourceVersion` kept, items unstripped.
async fn list(sim: &Sim, path: &str) -> Result<Value, String> {
    let mut list = raw_get(sim, path).await?;
    if list.get("items").is_none_or(Value::is_null) {
        list["items"] = json!([]);
    }
    Ok(list)
}

async fn raw_get(sim: &Sim, path: &str) -> Result<Value, String> {
    let request = http::Request::get(path)
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    sim.client.request::<Value>(request).await.map_err(|e| {
        format!(
            "failed to generate system backup file: failed to generate resource YAMLs: {path}: {e}"
        )
    })
}

fn write_zip(name: &str, metadata: &str, files: &[ListFile]) -> Result<Vec<u8>, String> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let error = |e: &dyn std::fmt::Display| e.to_string();
    zip.add_directory(format!("{name}/"), options)
        .map_err(|e| error(&e))?;
    zip.start_file(format!("{name}/metadata.yaml"), options)
        .map_err(|e| error(&e))?;
    zip.write_all(metadata.as_bytes()).map_err(|e| error(&e))?;
    zip.add_directory(format!("{name}/yamls/"), options)
        .map_err(|e| error(&e))?;
    let mut directories = BTreeSet::new();
    for file in files {
        let directory = file.path.split('/').next().unwrap_or_default();
        if directories.insert(directory.to_string()) {
            zip.add_directory(format!("{name}/yamls/{directory}/"), options)
                .map_err(|e| error(&e))?;
        }
        let yaml = serde_saphyr::to_string(&file.list).map_err(|e| error(&e))?;
        zip.start_file(format!("{name}/yamls/{}", file.path), options)
            .map_err(|e| error(&e))?;
        zip.write_all(yaml.as_bytes()).map_err(|e| error(&e))?;
    }
    Ok(zip.finish().map_err(|e| error(&e))?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zip_has_one_top_level_directory_named_after_the_backup() {
        let files = vec![ListFile {
            path: "longhorn/setting.yaml".into(),
            list: json!({"apiVersion": "longhorn.io/v1beta2", "kind": "SettingList", "metadata": {}, "items": [
                {"apiVersion": "longhorn.io/v1beta2", "kind": "Setting", "metadata": {"name": "x"}, "value": "true"}
            ]}),
        }];
        let zip = write_zip("demo", "longhornversion: v1.9.0\n", &files).unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
        let names: Vec<String> = archive
            .file_names()
            .map(|n| n.unwrap().to_string())
            .collect();
        assert!(names.iter().all(|n| n.starts_with("demo/")), "{names:?}");
        assert!(names.contains(&"demo/yamls/longhorn/".to_string()));
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut archive.by_name("demo/yamls/longhorn/setting.yaml").unwrap(),
            &mut text,
        )
        .unwrap();
        let back: Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(
            back["items"][0]["value"], "true",
            "a string that looks like a bool stays a string:\n{text}"
        );
        assert_eq!(back["kind"], "SettingList");
    }
}
