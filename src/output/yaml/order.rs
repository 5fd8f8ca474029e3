//! go-yaml v2's order of map keys (`keyList.Less` in `encode.go`), which kubectl's
//! output follows: letters compare as characters, a non-letter sorts before a letter,
//! and runs of digits compare by their value (`a9` before `a10`).

use std::cmp::Ordering;

use serde_json::{Map, Value};

/// The keys of `map` in go-yaml's order. serde_json's map iterates in byte order,
/// which is already go-yaml's for most Kubernetes keys: then nothing is sorted.
pub(super) fn sorted_keys(map: &Map<String, Value>) -> Vec<&String> {
    let keys: Vec<&String> = map.keys().collect();
    if keys
        .windows(2)
        .all(|w| natural_order(w[0], w[1]) != Ordering::Greater)
    {
        return keys;
    }
    merge_sort(keys)
}

/// A stable merge sort. go-yaml's order is not transitive for some keys (runs of
/// digits with leading zeros next to other characters), which Go's sort tolerates and
/// the standard library's sort rejects with a panic; a merge sort just gives an order.
fn merge_sort(mut keys: Vec<&String>) -> Vec<&String> {
    if keys.len() <= 1 {
        return keys;
    }
    let right = keys.split_off(keys.len() / 2);
    let (left, right) = (merge_sort(keys), merge_sort(right));
    let mut merged = Vec::with_capacity(left.len() + right.len());
    let (mut left, mut right) = (left.into_iter().peekable(), right.into_iter().peekable());
    while let (Some(a), Some(b)) = (left.peek(), right.peek()) {
        if natural_order(b, a) == Ordering::Less {
            merged.extend(right.next());
        } else {
            merged.extend(left.next());
        }
    }
    merged.extend(left);
    merged.extend(right);
    merged
}

/// Compares two keys as go-yaml v2 does.
pub(super) fn natural_order(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return natural(a.as_bytes(), b.as_bytes());
    }
    let (ar, br): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    natural(&ar, &br)
}

/// What the comparison needs of a character: ASCII bytes (no allocation) or chars.
trait Symbol: Copy + Ord {
    fn alphabetic(self) -> bool;
    fn digit(self) -> bool;
    fn is_zero(self) -> bool;
    fn value(self) -> i64;
}

impl Symbol for u8 {
    fn alphabetic(self) -> bool {
        self.is_ascii_alphabetic()
    }
    fn digit(self) -> bool {
        self.is_ascii_digit()
    }
    fn is_zero(self) -> bool {
        self == b'0'
    }
    fn value(self) -> i64 {
        i64::from(self - b'0')
    }
}

impl Symbol for char {
    fn alphabetic(self) -> bool {
        self.is_alphabetic()
    }
    fn digit(self) -> bool {
        self.is_ascii_digit()
    }
    fn is_zero(self) -> bool {
        self == '0'
    }
    fn value(self) -> i64 {
        i64::from(self as u8 - b'0')
    }
}

fn natural<T: Symbol>(ar: &[T], br: &[T]) -> Ordering {
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            continue;
        }
        let (al, bl) = (ar[i].alphabetic(), br[i].alphabetic());
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return if bl {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let (mut an, mut bn) = (0i64, 0i64);
        if ar[i].is_zero() || br[i].is_zero() {
            for j in (0..i).rev() {
                if !ar[j].digit() {
                    break;
                }
                if !ar[j].is_zero() {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].digit() {
            an = an.wrapping_mul(10).wrapping_add(ar[ai].value());
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].digit() {
            bn = bn.wrapping_mul(10).wrapping_add(br[bi].value());
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}
