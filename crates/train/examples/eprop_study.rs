//! A whole e-prop study on the chip's core, written as JSON (a development aid for long
//! runs; `amine train --task … --seeds N --report DIR` is the user command).
//! Usage: eprop_study TASK CONDITIONS SEEDS TRIALS EVAL_EVERY EVAL_TRIALS THREADS OUT.json
use amine_tasks::eprop::{Condition, TaskKind};
use amine_train::eprop::{run_study, EpropRunConfig, StudyConfig};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let task = TaskKind::parse(&a[1]).unwrap();
    let conditions: Vec<Condition> = a[2]
        .split(',')
        .map(|c| Condition::parse(c).unwrap())
        .collect();
    let mut base = EpropRunConfig::new(task, conditions[0], 1);
    base.trials = a[4].parse().unwrap();
    base.eval_every = a[5].parse().unwrap();
    base.eval_trials = a[6].parse().unwrap();
    let cfg = StudyConfig {
        task,
        conditions,
        first_seed: 1,
        seeds: a[3].parse().unwrap(),
        base,
        lr: None,
        threads: a[7].parse().unwrap(),
    };
    let chip = amine_chip::presets::preset("loihi").unwrap();
    let t0 = std::time::Instant::now();
    let study = run_study(&cfg, &chip, &|c, s, p| {
        let e = p.eval.as_ref();
        eprintln!(
            "{c:?} seed {s} {:>6}: train acc {:.3} loss {:.4} | eval acc {:.3} nmse {:.4} | rates {:.1}/{:.1} | {:.0} s",
            p.trials, p.train.accuracy, p.train.loss,
            e.map_or(f64::NAN, |e| e.accuracy), e.map_or(f64::NAN, |e| e.nmse),
            p.train.rate_lif_hz, p.train.rate_alif_hz, t0.elapsed().as_secs_f64()
        );
    })
    .unwrap();
    for s in &study.summaries {
        eprintln!(
            "{:?}: {:.4} ± {:.4} {:?}",
            s.condition, s.mean, s.sd, s.finals
        );
    }
    eprintln!("wall {:.0} s", t0.elapsed().as_secs_f64());
    std::fs::write(&a[8], serde_json::to_string_pretty(&study).unwrap()).unwrap();
}
