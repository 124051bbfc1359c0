//! The recall targets a report is judged against (fused recall of the cases run).

use serde::Serialize;

use super::report::TransformReport;
use super::transform::Transform;

/// A recall target and whether it is met (fused verdict).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Target {
    /// What the target says.
    pub name: String,
    /// The cases it covers (those that were run).
    pub transforms: Vec<String>,
    /// The smallest recall that meets it.
    pub min_recall: f64,
    /// The case with the lowest recall.
    pub worst_transform: Option<String>,
    /// Its recall.
    pub worst_recall: Option<f64>,
    /// Whether every covered case reaches `min_recall` (false when none was run).
    pub met: bool,
}

/// The recall targets, judged on the fused recall of the cases that were run: 99% on
/// every transform but the hardest (crop-10, rotate-3, pad-10, screenshot), 95% on pad-10
/// and screenshot, 100% on the exact rotations and flips.
pub fn targets(rows: &[TransformReport]) -> Vec<Target> {
    use Transform as T;
    let exact = [T::Rotate90, T::Rotate180, T::Rotate270, T::Mirror, T::Flip, T::ExifRotated];
    let framed = [T::Pad10, T::Screenshot];
    let excluded = [T::Crop10, T::Rotate3];
    let rest: Vec<T> = T::ALL
        .into_iter()
        .filter(|t| !exact.contains(t) && !framed.contains(t) && !excluded.contains(t))
        .collect();
    let target = |name: &str, set: &[T], min_recall: f64| {
        let covered: Vec<&TransformReport> =
            rows.iter().filter(|r| set.iter().any(|t| t.name() == r.transform)).collect();
        let worst = covered
            .iter()
            .filter_map(|r| r.any.recall.map(|x| (r.transform.clone(), x)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        Target {
            name: name.to_string(),
            transforms: covered.iter().map(|r| r.transform.clone()).collect(),
            min_recall,
            met: !covered.is_empty()
                && covered.iter().all(|r| r.any.recall.is_some_and(|x| x >= min_recall - 1e-12)),
            worst_transform: worst.as_ref().map(|w| w.0.clone()),
            worst_recall: worst.map(|w| w.1),
        }
    };
    vec![
        target("recall >= 99% on every transform except crop-10, rotate-3, pad-10, screenshot", &rest, 0.99),
        target("recall >= 95% on pad-10 and screenshot", &framed, 0.95),
        target("recall 100% on rotations by 90/180/270, mirror, flip, exif-rotated", &exact, 1.0),
    ]
}
