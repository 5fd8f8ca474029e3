//! Waiting for what Longhorn does, each wait with a deadline that names what it waited for.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;

use super::Longhorn;
use crate::Error;
use crate::longhorn::Kind;

impl Longhorn {
    /// Waits until the object satisfies `done` (checked on every watch event).
    pub async fn wait_for(
        &self,
        api: &Api<DynamicObject>,
        name: &str,
        timeout: Duration,
        done: impl Fn(&DynamicObject) -> bool,
    ) -> Result<DynamicObject, Error> {
        let condition = move |object: Option<&DynamicObject>| object.is_some_and(&done);
        match tokio::time::timeout(
            timeout,
            kube::runtime::wait::await_condition(api.clone(), name, condition),
        )
        .await
        {
            Ok(Ok(Some(object))) => Ok(object),
            Ok(Ok(None)) => Err(Error::Kube(format!("{name} disappeared"))),
            Ok(Err(e)) => Err(Error::Kube(e.to_string())),
            Err(_) => {
                let current = api
                    .get_opt(name)
                    .await
                    .ok()
                    .flatten()
                    .map(|o| o.data.to_string())
                    .unwrap_or_default();
                Err(Error::Kube(format!(
                    "timed out after {timeout:?} waiting for {} {name}; it is now: {current}",
                    api.resource_url()
                )))
            }
        }
    }

    /// Waits until a SystemBackup reaches one of `states`.
    pub async fn wait_for_system_backup(
        &self,
        name: &str,
        states: &[&str],
        timeout: Duration,
    ) -> Result<DynamicObject, Error> {
        let client = self.client().await?;
        let api = Kind::SystemBackup.api(&client, self.namespace());
        self.wait_for(&api, name, timeout, |backup| {
            let state = backup
                .data
                .pointer("/status/state")
                .and_then(Value::as_str)
                .unwrap_or_default();
            states.contains(&state)
        })
        .await
    }

    /// Waits until an object is gone.
    pub async fn wait_for_deletion(
        &self,
        kind: Kind,
        name: &str,
        timeout: Duration,
    ) -> Result<(), Error> {
        let client = self.client().await?;
        let api = kind.api(&client, self.namespace());
        let wait = kube::runtime::wait::await_condition(api, name, |o: Option<&DynamicObject>| {
            o.is_none()
        });
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| {
                Error::Kube(format!(
                    "{} {name} still exists after {timeout:?}",
                    kind.name()
                ))
            })?
            .map_err(|e| Error::Kube(e.to_string()))?;
        Ok(())
    }

    /// Core/v1 events about an object, oldest first.
    pub async fn events_for(&self, kind: Kind, name: &str) -> Result<Vec<Event>, Error> {
        // The simulator, like Longhorn, records an event just after the status change
        // it reports: wait until no new one has come for a moment (at most 5 s).
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut events = self.list_events(kind, name).await?;
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let again = self.list_events(kind, name).await?;
            if again.len() == events.len() || Instant::now() > deadline {
                return Ok(again);
            }
            events = again;
        }
    }

    async fn list_events(&self, kind: Kind, name: &str) -> Result<Vec<Event>, Error> {
        let client = self.client().await?;
        let api: Api<Event> = Api::namespaced(client, self.namespace());
        let selector = format!(
            "involvedObject.kind={},involvedObject.name={name}",
            kind.name()
        );
        let mut events = api
            .list(&ListParams::default().fields(&selector))
            .await
            .map_err(|e| Error::Kube(e.to_string()))?
            .items;
        events.sort_by_key(|e| {
            e.metadata
                .resource_version
                .as_deref()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        });
        Ok(events)
    }
}
