//! The least-squares line through a few points: the forecast method every goal
//! falls back to (the floor the design asks for), small enough to check by hand.

/// The slope of the least-squares line through `points` (x, y), or `None`
/// when fewer than two distinct x values make the slope undefined.
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    Some(sxy / sxx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_points_give_their_slope_and_one_gives_none() {
        assert_eq!(slope(&[(0.0, 1000.0), (19.0, 1060.0)]), Some(60.0 / 19.0));
        assert_eq!(slope(&[(3.0, 1.0)]), None);
        assert_eq!(slope(&[(3.0, 1.0), (3.0, 2.0)]), None);
    }

    #[test]
    fn a_noisy_line_gives_the_fitted_slope() {
        // y = 2x + noise (+1, -1, -1, +1) uncorrelated with x: slope exactly 2.
        let s = slope(&[(0.0, 1.0), (1.0, 1.0), (2.0, 3.0), (3.0, 7.0)]).unwrap_or(0.0);
        assert!((s - 2.0).abs() < 1e-12, "{s}");
    }
}
