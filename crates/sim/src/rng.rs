//! A small deterministic random number generator and the distributions the
//! simulator draws from.
//!
//! xoshiro256** (Blackman and Vigna, 2018) seeded through SplitMix64, written
//! out here rather than taken from a crate so that a seed gives the same
//! hospital forever, whatever crate versions a build resolves. Continuous
//! distributions use `f64::exp`, `ln`, `cos` and `sqrt` from the platform's
//! math library; on the usual targets (glibc, musl, macOS) these agree for
//! the values drawn here, but a bit-for-bit guarantee across platforms is
//! only made for the integer stream.

/// SplitMix64: turns one 64-bit seed into a well-mixed stream; used to seed
/// [`Rng`] and to derive independent streams from a seed and a number.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A stream starting from `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// xoshiro256**: the simulator's only source of randomness.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator seeded from `seed` through SplitMix64.
    pub fn new(seed: u64) -> Rng {
        let mut sm = SplitMix64::new(seed);
        let s = [sm.next_u64(), sm.next_u64(), sm.next_u64(), sm.next_u64()];
        Rng { s }
    }

    /// An independent generator for stream `stream` of `seed` (a patient, a
    /// ward): the same pair always gives the same stream, and streams do not
    /// depend on how many numbers other streams drew.
    pub fn stream(seed: u64, stream: u64) -> Rng {
        let mut sm = SplitMix64::new(seed);
        let a = sm.next_u64();
        let mut mix = SplitMix64::new(a ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        Rng::new(mix.next_u64())
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)`, with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `[0, n)`; 0 when `n` is 0. Unbiased (Lemire's
    /// multiply-and-reject).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            let low = m as u64;
            if low >= n.wrapping_neg() % n {
                return (m >> 64) as u64;
            }
        }
    }

    /// Uniform integer in `[lo, hi]` (inclusive); `lo` when `hi < lo`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo) as u64 + 1) as i64
    }

    /// Uniform real in `[lo, hi)`.
    pub fn range_f64(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// True with probability `p` (clamped to `[0, 1]`).
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// Standard normal, by the Box–Muller transform (one of the pair; the
    /// other is discarded so that the stream has no hidden state).
    pub fn normal(&mut self) -> f64 {
        // 1 - uniform() is in (0, 1], so the logarithm is finite
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Lognormal with the given median (`e^μ`) and shape `σ`.
    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// Poisson with mean `lambda`: Knuth's product method below 30, a
    /// rounded normal approximation above (never needed by the hospital's
    /// hourly rates, kept for completeness).
    pub fn poisson(&mut self, lambda: f64) -> u32 {
        if lambda <= 0.0 || lambda.is_nan() {
            return 0;
        }
        if lambda >= 30.0 {
            let x = lambda + lambda.sqrt() * self.normal();
            return x.round().max(0.0) as u32;
        }
        let limit = (-lambda).exp();
        let mut k = 0u32;
        let mut p = self.uniform();
        while p > limit {
            k += 1;
            p *= self.uniform();
        }
        k
    }

    /// An index into `weights`, with probability proportional to its weight.
    /// Negative weights count as zero; all-zero weights give index 0.
    pub fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().map(|w| w.max(0.0)).sum();
        if total <= 0.0 {
            return 0;
        }
        let mut x = self.uniform() * total;
        for (i, w) in weights.iter().enumerate() {
            let w = w.max(0.0);
            if x < w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }

    /// One of `items`, uniformly. `items` must not be empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_stream() {
        // The first outputs for seed 0 of Vigna's reference splitmix64.c.
        let mut sm = SplitMix64::new(0);
        assert_eq!(sm.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(sm.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn xoshiro_matches_the_reference_step() {
        // With state [1, 2, 3, 4] the reference xoshiro256starstar.c returns
        // rotl(2 * 5, 7) * 9 = 1280 * 9 = 11520 first.
        let mut r = Rng { s: [1, 2, 3, 4] };
        assert_eq!(r.next_u64(), 11520);
        // second: s becomes [7, 0, 262146, rotl(6, 45)]; s[1] = 0 → 0
        assert_eq!(r.next_u64(), 0);
    }

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| Rng::stream(7, 1).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(Rng::stream(7, 1).next_u64(), Rng::stream(7, 2).next_u64());
        assert_ne!(Rng::stream(7, 1).next_u64(), Rng::stream(8, 1).next_u64());
    }

    #[test]
    fn distributions_have_their_means() {
        let mut r = Rng::new(42);
        let n = 20_000;
        let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
        let u: Vec<f64> = (0..n).map(|_| r.uniform()).collect();
        assert!((mean(&u) - 0.5).abs() < 0.01);
        assert!(u.iter().all(|x| (0.0..1.0).contains(x)));
        let z: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        assert!(mean(&z).abs() < 0.03);
        let var = mean(&z.iter().map(|x| x * x).collect::<Vec<_>>());
        assert!((var - 1.0).abs() < 0.05, "{var}");
        for lambda in [0.3, 2.0, 12.0, 50.0] {
            let p: Vec<f64> = (0..n).map(|_| f64::from(r.poisson(lambda))).collect();
            assert!(
                (mean(&p) - lambda).abs() < 0.05 * lambda.max(1.0),
                "{lambda}: {}",
                mean(&p)
            );
        }
        let mut ln: Vec<f64> = (0..n).map(|_| r.lognormal(4.0, 0.6)).collect();
        ln.sort_by(f64::total_cmp);
        assert!((ln[n / 2] - 4.0).abs() < 0.15, "median {}", ln[n / 2]);
        let mut counts = [0usize; 3];
        for _ in 0..n {
            counts[r.weighted(&[1.0, 0.0, 3.0])] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!((counts[2] as f64 / n as f64 - 0.75).abs() < 0.02);
        for _ in 0..1000 {
            let x = r.range(3, 5);
            assert!((3..=5).contains(&x));
        }
        assert_eq!(r.below(0), 0);
    }
}
