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
//! `BkTree` is the typed view over the nodes: build, validate (on open), verify, search.
//!
//! The tree is kept as a selectable structure and as the baseline the benchmarks beat: at
//! the radii that matter for PDQ it visits almost every node.

use std::collections::VecDeque;

use crate::index::format::{BkNode, BK_NODE_LEN};
use crate::index::values::{distance, read_words, Found, Query, Values};
use crate::index::IndexError;

struct Node {
    pos: u32,
    dup: u32,
    children: Vec<(u32, usize)>,
}

/// A kind's BK-tree nodes over its values.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BkTree<'a> {
    nodes: &'a [u8],
    count: usize,
    values: Values<'a>,
}

impl<'a> BkTree<'a> {
    /// The view of `count` nodes in `nodes` (checked by [`BkTree::validate`]) over `values`.
    pub fn new(nodes: &'a [u8], count: usize, values: Values<'a>) -> BkTree<'a> {
        BkTree { nodes, count, values }
    }

    /// Builds the nodes over the sorted encoded `values`; returns (node count, bytes).
    pub fn build(values: &[u8], words: usize) -> (u64, Vec<u8>) {
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
        while let Some((id, parent_distance)) = queue.pop_front() {
            let node = &mut nodes[id];
            node.children.sort_unstable();
            let children = node.children.len() as u32;
            BkNode { pos: node.pos, dup: node.dup, parent_distance, first_child: next_child, children }
                .encode(&mut out);
            next_child += children;
            for &(d, c) in &node.children {
                queue.push_back((c, d));
            }
        }
        (nodes.len() as u64, out)
    }

    /// Checks the shape of every node (see the module docs) for `n` values.
    pub fn validate(nodes: &[u8], count: usize, n: usize) -> Result<(), IndexError> {
        if count.checked_mul(BK_NODE_LEN) != Some(nodes.len()) {
            return Err(IndexError::corrupt("BK-tree", format!("{} bytes for {count} nodes", nodes.len())));
        }
        let bad = |i: usize, why: &str| IndexError::corrupt("BK-tree", format!("node {i}: {why}"));
        let mut next = 1u64;
        for i in 0..count {
            let node = BkNode::decode(nodes, i).map_err(|_| bad(i, "truncated"))?;
            if node.dup == 0 || u64::from(node.pos) + u64::from(node.dup) > n as u64 {
                return Err(bad(i, "values out of range"));
            }
            if u64::from(node.first_child) != next {
                return Err(bad(i, "children not in breadth-first order"));
            }
            next += u64::from(node.children);
        }
        if next != count as u64 + u64::from(count == 0) {
            return Err(IndexError::corrupt(
                "BK-tree",
                format!("children add up to {} nodes, not {count}", next - 1),
            ));
        }
        Ok(())
    }

    /// Checks every node's values (a run of equal values) and that each child is at its
    /// stated distance from its parent, children sorted by distance, all values covered.
    pub fn verify(&self) -> Result<(), IndexError> {
        let kind = self.values.kind();
        let bad = |i: usize| IndexError::corrupt("BK-tree", format!("{kind} node {i} is inconsistent"));
        let node = |i: usize| BkNode::decode(self.nodes, i).map_err(|_| bad(i));
        let words = self.values.words();
        let mut covered = 0u64;
        for i in 0..self.count {
            let nd = node(i)?;
            let (pos, dup) = (nd.pos as usize, nd.dup as usize);
            let v = self.values.words_at(pos).ok_or_else(|| bad(i))?;
            if (pos..pos + dup).any(|p| self.values.words_at(p) != Some(v)) {
                return Err(bad(i));
            }
            covered += dup as u64;
            let (start, children) = (nd.first_child as usize, nd.children as usize);
            let mut prev = 0;
            for c in start..start + children {
                let child = node(c)?;
                let cv = self.values.words_at(child.pos as usize).ok_or_else(|| bad(c))?;
                if child.parent_distance <= prev || distance(&v, &cv, words) != child.parent_distance {
                    return Err(bad(c));
                }
                prev = child.parent_distance;
            }
        }
        if covered != self.values.len() as u64 {
            return Err(IndexError::corrupt("BK-tree", "nodes do not cover the values".to_string()));
        }
        Ok(())
    }

    /// Pushes every value within the radius of `q`.
    pub fn search(&self, q: &Query, out: &mut Vec<Found>) -> Result<(), IndexError> {
        let corrupt = || IndexError::corrupt("BK-tree", "node out of range".to_string());
        let (count, words, radius) = (self.count, self.values.words(), q.radius);
        let mut stack: Vec<usize> = Vec::new();
        if count > 0 {
            stack.push(0);
        }
        while let Some(i) = stack.pop() {
            let node = BkNode::decode(self.nodes, i).map_err(|_| corrupt())?;
            let v = self.values.words_at(node.pos as usize).ok_or_else(corrupt)?;
            let d = distance(&v, &q.words, words);
            if d <= radius {
                out.extend((node.pos..node.pos.saturating_add(node.dup)).map(|p| (p, d)));
            }
            let lo = d.saturating_sub(radius);
            let hi = d.saturating_add(radius);
            let start = node.first_child as usize;
            for c in start..start.saturating_add(node.children as usize).min(count) {
                let cd = BkNode::decode_distance(self.nodes, c).map_err(|_| corrupt())?;
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
}
