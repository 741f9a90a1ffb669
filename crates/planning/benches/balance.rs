//! Team balancing on a 40-patient ward with 4 teams (rooms of two, one
//! patient in eight pinned, an uneven start). Target: under 50 ms per
//! proposal.
//!
//! Run with `cargo bench -p careload-planning --bench balance`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic with a message

use std::hint::black_box;

use careload_planning::balance::{BalanceOptions, BalancePatient, TeamStaff, balance};
use careload_scoring::Points;
use criterion::{Criterion, criterion_group, criterion_main};

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

fn ward() -> (Vec<TeamStaff>, Vec<BalancePatient>) {
    let mut rng = Rng(0x5eed);
    let teams: Vec<TeamStaff> = ["Lag A", "Lag B", "Lag C", "Lag D"]
        .iter()
        .enumerate()
        .map(|(i, name)| TeamStaff {
            team: (*name).into(),
            name: None,
            usk: 2 + u32::from(i == 0),
            ssk: 1 + u32::from(i == 3),
        })
        .collect();
    let patients = (0..40)
        .map(|i| {
            // teams A and B get the heavier patients
            let team = i / 10;
            let base = if team < 2 { 12_000 } else { 5_000 };
            BalancePatient {
                id: format!("p{i:02}"),
                team: teams[team].team.clone(),
                room: Some(format!("{}", i / 2 + 1)),
                bed: Some(format!("{}", i + 1)),
                pinned: i % 8 == 3,
                need: Points::from_milli(base + rng.below(12_000) as i64),
            }
        })
        .collect();
    (teams, patients)
}

fn bench(c: &mut Criterion) {
    let (teams, patients) = ward();
    let rooms = BalanceOptions {
        max_moves: 10,
        keep_rooms_together: true,
        tolerance: Points::ZERO,
        allow_staff_move: true,
    };
    let beds = BalanceOptions {
        keep_rooms_together: false,
        ..rooms
    };
    for (name, o) in [
        ("balance 40 patients 4 teams, rooms", rooms),
        ("balance 40 patients 4 teams, beds", beds),
    ] {
        let p = balance(&teams, &patients, &o).unwrap_or_else(|e| panic!("{e}"));
        eprintln!(
            "{name}: {} moves, spread {} → {}",
            p.moves.len(),
            p.spread_before,
            p.spread_after
        );
        c.bench_function(name, |b| {
            b.iter(|| balance(black_box(&teams), black_box(&patients), black_box(&o)))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
