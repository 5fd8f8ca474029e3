//! What a test does as a cluster admin around Longhorn: running a RecurringJob by hand and
//! granting roles to the token users.

use std::time::{Duration, Instant};

use k8s_openapi::api::authorization::v1::SubjectAccessReview;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use super::Longhorn;
use crate::Error;

impl Longhorn {
    /// What `kubectl create job --from=cronjob/<name>` does: a Job from the
    /// RecurringJob's CronJob template, owned by the CronJob. Returns the Job's name.
    pub async fn run_recurring_job(&self, recurring_job: &str) -> Result<String, Error> {
        let client = self.client().await?;
        let cron_jobs: Api<CronJob> = Api::namespaced(client.clone(), self.namespace());
        let cron_job = cron_jobs
            .get(recurring_job)
            .await
            .map_err(|e| Error::Kube(format!("cronjob {recurring_job}: {e}")))?;
        let template = cron_job.spec.job_template.clone();
        let name = format!(
            "{recurring_job}-manual-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..5]
        );
        let job: Job = serde_json::from_value(json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": name,
                "namespace": self.namespace(),
                "annotations": {"cronjob.kubernetes.io/instantiate": "manual"},
                "labels": template.metadata.as_ref().and_then(|m| m.labels.clone()),
                "ownerReferences": [{
                    "apiVersion": "batch/v1", "kind": "CronJob", "name": recurring_job,
                    "uid": cron_job.metadata.uid, "controller": true,
                }],
            },
            "spec": template.spec,
        }))
        .map_err(|e| Error::Kube(e.to_string()))?;
        Api::<Job>::namespaced(client, self.namespace())
            .create(&PostParams::default(), &job)
            .await
            .map_err(|e| Error::Kube(format!("creating job {name}: {e}")))?;
        Ok(name)
    }

    /// Gives a token user (e.g. `plane::LIMITED`) a Role with these rules in the
    /// Longhorn namespace. Rules are RBAC PolicyRule JSON objects.
    pub async fn grant(&self, user: &str, rules: Value) -> Result<(), Error> {
        let name = format!("ground-{user}");
        let client = self.client().await?;
        let role =
            json!({"metadata": {"name": name, "namespace": self.namespace()}, "rules": rules});
        let binding = json!({
            "metadata": {"name": name, "namespace": self.namespace()},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        });
        create_or_replace(
            &client,
            &rbac("Role", "roles"),
            Some(self.namespace()),
            role,
        )
        .await?;
        create_or_replace(
            &client,
            &rbac("RoleBinding", "rolebindings"),
            Some(self.namespace()),
            binding,
        )
        .await?;
        wait_until_allowed(&client, user, &rules, Some(self.namespace())).await
    }

    /// Gives a token user a ClusterRole (prefixed with the namespace) with these rules.
    pub async fn grant_cluster(&self, user: &str, rules: Value) -> Result<(), Error> {
        let name = format!("{}-ground-{user}", self.namespace());
        let client = self.client().await?;
        let role = json!({"metadata": {"name": name}, "rules": rules});
        let binding = json!({
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        });
        create_or_replace(&client, &rbac("ClusterRole", "clusterroles"), None, role).await?;
        create_or_replace(
            &client,
            &rbac("ClusterRoleBinding", "clusterrolebindings"),
            None,
            binding,
        )
        .await?;
        wait_until_allowed(&client, user, &rules, None).await
    }
}

/// RBAC changes reach the apiserver's authorizer asynchronously: waits until a
/// SubjectAccessReview for the first rule's first verb/resource says yes.
async fn wait_until_allowed(
    client: &kube::Client,
    user: &str,
    rules: &Value,
    namespace: Option<&str>,
) -> Result<(), Error> {
    let rule = &rules[0];
    let first = |key: &str| rule[key][0].as_str().unwrap_or_default().to_string();
    let review: SubjectAccessReview = serde_json::from_value(json!({
        "spec": {
            "user": user,
            "resourceAttributes": {
                "group": first("apiGroups"), "resource": first("resources"), "verb": first("verbs"),
                "namespace": namespace,
            },
        },
    }))
    .map_err(|e| Error::Kube(e.to_string()))?;
    let api: Api<SubjectAccessReview> = Api::all(client.clone());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = api
            .create(&PostParams::default(), &review)
            .await
            .map_err(|e| Error::Kube(e.to_string()))?;
        if answer.status.is_some_and(|s| s.allowed) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::Kube(format!(
                "{user} is still not allowed by {rule}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn rbac(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", kind),
        plural,
    )
}

async fn create_or_replace(
    client: &kube::Client,
    resource: &ApiResource,
    namespace: Option<&str>,
    object: Value,
) -> Result<(), Error> {
    let mut object: DynamicObject =
        serde_json::from_value(object).map_err(|e| Error::Kube(e.to_string()))?;
    let api: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, resource),
        None => Api::all_with(client.clone(), resource),
    };
    let name = object.metadata.name.clone().unwrap_or_default();
    match api.create(&PostParams::default(), &object).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => {
            let current = api
                .get(&name)
                .await
                .map_err(|e| Error::Kube(e.to_string()))?;
            object.metadata.resource_version = current.metadata.resource_version;
            api.replace(&name, &PostParams::default(), &object)
                .await
                .map_err(|e| Error::Kube(e.to_string()))?;
            Ok(())
        }
        Err(e) => Err(Error::Kube(format!("creating {name}: {e}"))),
    }
}
