//! One e-prop run on the chip's core, printing each curve point (a development aid;
//! `amine train --task cue-accumulation …` is the user command).
use amine_tasks::eprop::{Condition, TaskKind};
use amine_train::eprop::{train_eprop, EpropRunConfig};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let task = TaskKind::parse(&a[1]).unwrap();
    let cond = Condition::parse(&a[2]).unwrap();
    let seed: u64 = a[3].parse().unwrap();
    let mut cfg = EpropRunConfig::new(task, cond, seed);
    cfg.trials = a[4].parse().unwrap();
    cfg.eval_every = a.get(5).map_or(3200, |s| s.parse().unwrap());
    cfg.threads = a.get(6).map_or(1, |s| s.parse().unwrap());
    if let Some(lr) = a.get(7) {
        let v: Vec<f64> = lr.split(',').map(|x| x.parse().unwrap()).collect();
        cfg.lr = [v[0], v[1], v[2]];
    }
    if let Some(b) = a.get(8) {
        cfg.lazy_decay = b != "strict";
    }
    if let Some(e) = a.get(9) {
        cfg.eval_trials = e.parse().unwrap();
    }
    let chip = amine_chip::presets::preset("loihi").unwrap();
    let t0 = std::time::Instant::now();
    let run = train_eprop(&cfg, &chip, &mut |p| {
        let e = p.eval.as_ref();
        eprintln!(
            "{:>6} train acc {:.3} loss {:.4} nmse {:.4} rates {:.1}/{:.1} | eval {:.3} nmse {:.4} | {:.1} s",
            p.trials, p.train.accuracy, p.train.loss, p.train.nmse, p.train.rate_lif_hz, p.train.rate_alif_hz,
            e.map_or(f64::NAN, |e| e.accuracy), e.map_or(f64::NAN, |e| e.nmse), t0.elapsed().as_secs_f64()
        );
    })
    .unwrap();
    println!("final {:?}", run.final_eval);
    println!("train trial {:?}", run.per_training_trial);
    println!("infer trial {:?}", run.per_inference_trial);
    println!(
        "changed {} clamps {} wall {:.1}s",
        run.weights_changed,
        run.weight_clamps,
        t0.elapsed().as_secs_f64()
    );
}
