//! Train a feed-forward float reference:
//! `ff RULE [HIDDEN,..] RATE BATCH EPOCHS SEED [TASK] [BETA] [LOSS] [chip|chipform] [CONTEXT_SCALE] [UNIT]`,
//! UNIT = `RESPONSE_BITS,PROB_BITS` (sigprop's unit widths).
use amine_tasks::ff::{train, FfConfig, Rule};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let rule = match a[0].as_str() {
        "backprop" => Rule::Backprop,
        "dfa" => Rule::Dfa,
        _ => Rule::Sigprop,
    };
    let mut cfg = FfConfig::digits(rule);
    cfg.hidden = a[1].split(',').map(|v| v.parse().unwrap()).collect();
    cfg.rate = a[2].parse()?;
    cfg.batch = a[3].parse()?;
    cfg.epochs = a[4].parse()?;
    cfg.seed = a[5].parse()?;
    let task = a.get(6).cloned().unwrap_or_else(|| "digits".into());
    if let Some(b) = a.get(7) {
        cfg.sigprop.beta = b.parse()?;
    }
    match a.get(8).map(String::as_str) {
        Some("pull") => cfg.sigprop.loss = amine_tasks::ff::sigprop::Loss::Pull,
        Some("mean") => cfg.sigprop.loss = amine_tasks::ff::sigprop::Loss::Mean,
        _ => {}
    }
    if let Some(c) = a.get(10) {
        cfg.sigprop.context_scale = c.parse()?;
    }
    if let Some(w) = a.get(11) {
        let (r, p) = w.split_once(',').ok_or("UNIT is RESPONSE_BITS,PROB_BITS")?;
        cfg.sigprop.unit_widths = Some(amine_tasks::ff::sigprop::UnitWidths {
            response_bits: r.parse()?,
            prob_bits: p.parse()?,
        });
    }
    if let Some("chip" | "chipform") = a.get(9).map(String::as_str) {
        cfg.input_bias = Some(0.8);
    }
    match a.get(9).map(String::as_str) {
        Some("chipform") => cfg.sigprop.sample_updates = true,
        Some("notarget") => {
            cfg.input_bias = Some(0.8);
            cfg.sigprop.target_updates = false;
        }
        Some("online") => {
            cfg.input_bias = Some(0.8);
            cfg.sigprop.sample_updates = true;
        }
        _ => {}
    }
    let split = amine_tasks::parse_task(&task)?.load()?;
    let r = train(&cfg, &split, &mut |e| {
        println!(
            "epoch {} train {:.4} test {:.4}",
            e.epoch, e.train_accuracy, e.test_accuracy
        )
    })?;
    println!("final {:.4}", r.test_accuracy());
    Ok(())
}
