//! A List file summarised as it streams: kind, item names and the status fields
//! restore needs, never the whole document in memory.

use std::fmt;
use std::io;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::Limits;

/// What a List file holds, read as it streams: its type and, per item, the few
/// fields the report shows.
#[derive(Debug, Default)]
pub(super) struct ListSummary {
    pub(super) api_version: Option<String>,
    pub(super) kind: Option<String>,
    pub(super) items: Vec<ItemSummary>,
    pub(super) items_not_a_list: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ItemSummary {
    pub(super) metadata: ItemMetadata,
    pub(super) status: Option<ItemStatus>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ItemMetadata {
    pub(super) name: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct ItemStatus {
    pub(super) last_backup: Option<Value>,
    pub(super) last_backup_at: Option<Value>,
    pub(super) is_standby: Option<Value>,
}

pub(super) fn value_text(value: &Option<Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

impl<'de> Deserialize<'de> for ListSummary {
    fn deserialize<D: de::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_map(ListVisitor)
    }
}

pub(super) struct ListVisitor;

impl<'de> Visitor<'de> for ListVisitor {
    type Value = ListSummary;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Kubernetes List object")
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<ListSummary, A::Error> {
        let mut summary = ListSummary::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "apiVersion" => summary.api_version = map.next_value::<Option<String>>()?,
                "kind" => summary.kind = map.next_value::<Option<String>>()?,
                "items" => match map.next_value_seed(ItemsSeed(&mut summary.items))? {
                    true => {}
                    false => summary.items_not_a_list = true,
                },
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(summary)
    }
}

/// Visits `items` one element at a time, keeping only each item's summary.
pub(super) struct ItemsSeed<'a>(&'a mut Vec<ItemSummary>);

impl<'de> DeserializeSeed<'de> for ItemsSeed<'_> {
    /// False when `items` is not a sequence (null counts as empty).
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sequence of items")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<bool, A::Error> {
        while let Some(item) = seq.next_element::<ItemSummary>()? {
            self.0.push(item);
        }
        Ok(true)
    }

    fn visit_unit<E: de::Error>(self) -> std::result::Result<bool, E> {
        Ok(true)
    }

    fn visit_none<E: de::Error>(self) -> std::result::Result<bool, E> {
        Ok(true)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> std::result::Result<bool, E> {
        Ok(false)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<bool, E> {
        Ok(false)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<bool, E> {
        Ok(false)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<bool, E> {
        Ok(false)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<bool, E> {
        Ok(false)
    }
}

/// Parser limits for one file: no aliases to speak of (Kubernetes YAML has none), and
/// events and scalar bytes bounded by the entry cap rather than the small defaults.
pub(super) fn parse_options(limits: Limits) -> serde_saphyr::Options {
    let cap = usize::try_from(limits.max_entry_bytes).unwrap_or(usize::MAX);
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_reader_input_bytes: Some(cap),
            max_events: cap,
            max_nodes: cap,
            max_total_scalar_bytes: cap,
            max_aliases: 100,
            max_anchors: 100,
            max_documents: 1000,
        },
    }
}

/// A List file in the shape `sigs.k8s.io/yaml` (and `--local`) write — top-level keys
/// at column 0, `items:` alone on its line, each item starting with `- ` at column 0 —
/// read one item at a time: each item is parsed from memory on its own (several times
/// faster than parsing the stream as one document, and memory bounded by an item).
/// `None` when the file has another shape, or anything fails to parse: the caller
/// then parses the whole stream, which decides.
pub(super) fn parse_items_apart(
    reader: &mut impl io::BufRead,
    limits: Limits,
) -> Option<ListSummary> {
    let mut outside = String::new();
    let mut items = Vec::new();
    let mut item = String::new();
    let mut in_items = false;
    let mut line = String::new();
    let flush = |item: &mut String, items: &mut Vec<ItemSummary>| -> Option<()> {
        if item.is_empty() {
            return Some(());
        }
        let mut parsed: Vec<ItemSummary> =
            serde_saphyr::from_str_with_options(item, parse_options(limits)).ok()?;
        item.clear();
        (parsed.len() == 1).then(|| items.push(parsed.remove(0)))
    };
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            break;
        }
        let column0 = !line.starts_with([' ', '\n', '\r', '#']);
        if line.starts_with("---") || line.starts_with("...") || line.starts_with('%') {
            return None;
        }
        if in_items {
            if line.starts_with("- ") || line.trim_end() == "-" {
                flush(&mut item, &mut items)?;
                item.push_str(&line);
                continue;
            }
            if !column0 {
                if item.is_empty() && !line.trim().is_empty() {
                    return None; // an indented sequence: not this shape
                }
                item.push_str(&line);
                continue;
            }
            flush(&mut item, &mut items)?;
            in_items = false;
        }
        if line.trim_end() == "items:" {
            in_items = true;
        }
        outside.push_str(&line);
    }
    flush(&mut item, &mut items)?;
    let mut summary: ListSummary =
        serde_saphyr::from_str_with_options(&outside, parse_options(limits)).ok()?;
    if !summary.items.is_empty() || summary.items_not_a_list {
        return None;
    }
    summary.items = items;
    Some(summary)
}
