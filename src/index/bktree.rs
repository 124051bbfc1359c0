//! A BK-tree (Burkhard and Keller, 1973) laid out flat in the index file.
//!
//! Each node holds one distinct value (with the run of equal values after it in the sorted
//! values array, so duplicates are all returned); a child at distance `d` from its parent
//! holds values at distance exactly `d` from the parent's value. A query at radius `r` at a
//! node at distance `d` only needs the children with `|d' - d| <= r` (triangle inequality).
//!
//! Nodes are stored breadth first: node 0 is the root and the children of each node are a
//! contiguous run of nodes, sorted by distance, following the children of the nodes before
//! it. Opening checks this shape for every node, so every node has exactly one parent
//! before it and a traversal visits each node at most once.
//!
//! The tree is kept as a selectable structure and as the baseline the benchmarks beat: at
//! the radii that matter for PDQ it visits almost every node.

use std::collections::VecDeque;
use std::ops::Range;

use crate::index::format::{u32_at, BK_NODE_LEN};
use crate::index::mih::{distance, read_words};
use crate::index::IndexError;

struct Node {
    pos: u32,
    dup: u32,
    children: Vec<(u32, usize)>,
}

/// Builds the nodes over the sorted encoded `values`; returns (node count, bytes).
pub(crate) fn build(values: &[u8], words: usize) -> (u64, Vec<u8>) {
    let n = values.len() / (words * 8);
    let mut nodes: Vec<Node> = Vec::new();
    let mut vals: Vec<[u64; 4]> = Vec::new();
    let mut p = 0;
    while p < n {
        let v = read_words(values, p, words).unwrap_or_default();
        let mut end = p + 1;
        while end < n && read_words(values, end, words) == Some(v) {
            end += 1;
        }
        let id = nodes.len();
        nodes.push(Node { pos: p as u32, dup: (end - p) as u32, children: Vec::new() });
        vals.push(v);
        if id > 0 {
            let mut at = 0;
            loop {
                let d = distance(&vals[at], &v, words);
                match nodes[at].children.iter().find(|c| c.0 == d) {
                    Some(&(_, child)) => at = child,
                    None => {
                        nodes[at].children.push((d, id));
                        break;
                    }
                }
            }
        }
        p = end;
    }
    // Breadth-first renumbering.
    let mut out = Vec::with_capacity(nodes.len() * BK_NODE_LEN);
    let mut queue: VecDeque<(usize, u32)> = VecDeque::new();
    if !nodes.is_empty() {
        queue.push_back((0, 0));
    }
    let mut next_child = 1u32;
    while let Some((id, parent_dist)) = queue.pop_front() {
        let node = &mut nodes[id];
        node.children.sort_unstable();
        let count = node.children.len() as u32;
        for x in [node.pos, node.dup, parent_dist, next_child, count] {
            out.extend_from_slice(&x.to_le_bytes());
        }
        next_child += count;
        for &(d, c) in &node.children {
            queue.push_back((c, d));
        }
    }
    (nodes.len() as u64, out)
}

fn field(b: &[u8], node: usize, i: usize) -> Option<u32> {
    u32_at(b, node.checked_mul(BK_NODE_LEN)?.checked_add(i * 4)?)
}

/// Checks the shape of every node (see the module docs) for `n` values.
pub(crate) fn validate(nodes: &[u8], count: usize, n: usize) -> Result<(), IndexError> {
    if count.checked_mul(BK_NODE_LEN) != Some(nodes.len()) {
        return Err(IndexError::corrupt("BK-tree", format!("{} bytes for {count} nodes", nodes.len())));
    }
    let bad = |i: usize, why: &str| IndexError::corrupt("BK-tree", format!("node {i}: {why}"));
    let mut next = 1u64;
    for i in 0..count {
        let (Some(pos), Some(dup), Some(start), Some(children)) =
            (field(nodes, i, 0), field(nodes, i, 1), field(nodes, i, 3), field(nodes, i, 4))
        else {
            return Err(bad(i, "truncated"));
        };
        if dup == 0 || u64::from(pos) + u64::from(dup) > n as u64 {
            return Err(bad(i, "values out of range"));
        }
        if u64::from(start) != next {
            return Err(bad(i, "children not in breadth-first order"));
        }
        next += u64::from(children);
    }
    if next != count as u64 + u64::from(count == 0) {
        return Err(IndexError::corrupt(
            "BK-tree",
            format!("children add up to {} nodes, not {count}", next - 1),
        ));
    }
    Ok(())
}

/// Pushes `(position, distance)` of every value within `radius` of `query`.
pub(crate) fn search(
    nodes: &[u8],
    count: usize,
    values: &[u8],
    words: usize,
    query: &[u64; 4],
    radius: u32,
    out: &mut Vec<(u32, u32)>,
) -> Result<(), IndexError> {
    let corrupt = || IndexError::corrupt("BK-tree", "node out of range".to_string());
    let mut stack: Vec<usize> = Vec::new();
    if count > 0 {
        stack.push(0);
    }
    while let Some(i) = stack.pop() {
        let (Some(pos), Some(dup), Some(start), Some(children)) =
            (field(nodes, i, 0), field(nodes, i, 1), field(nodes, i, 3), field(nodes, i, 4))
        else {
            return Err(corrupt());
        };
        let v = read_words(values, pos as usize, words).ok_or_else(corrupt)?;
        let d = distance(&v, query, words);
        if d <= radius {
            out.extend((pos..pos.saturating_add(dup)).map(|p| (p, d)));
        }
        let lo = d.saturating_sub(radius);
        let hi = d.saturating_add(radius);
        let range: Range<usize> =
            start as usize..(start as usize).saturating_add(children as usize).min(count);
        for c in range {
            let cd = field(nodes, c, 2).ok_or_else(corrupt)?;
            if cd > hi {
                break;
            }
            // Children are numbered after their parent (checked on open), so this ends.
            if cd >= lo && c > i {
                stack.push(c);
            }
        }
    }
    Ok(())
}
