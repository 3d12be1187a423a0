//! Train a feed-forward float reference:
//! `ff RULE [HIDDEN,..] RATE BATCH EPOCHS SEED [TASK] [BETA] [LOSS] [chip|chipform|notarget|online] [CONTEXT_SCALE] [UNIT]`
//! from `FfConfig::for_task`; HIDDEN's first layer may be patch-wired (`1440p5s2,128`),
//! UNIT = `RESPONSE_BITS,PROB_BITS` (sigprop's unit widths), then any of
//! `decay=F` (rate decay per epoch), `complement=1` (inputs with their complements),
//! `readout=sum|mean|last` (sigprop: distances summed over layers, to class-mean
//! responses, last layer), `context=mean|random` (sigprop's context form), `targets=0` (no context
//! updates), `init=F` (initial weight scale), `wd=F` (weight decay), `k=K` (sigprop: contexts per class, sub-class prototypes),
//! `pooled=1` (sigprop: read a class out by pooling its contexts), `aug=N` (training set
//! with its images shifted by 1..=N pixels, `amine train --augment shift:N`), `raug=N` (every
//! epoch each image at a seeded random one of those placements or itself,
//! `amine train --augment shift-random:N`), `augment=SPEC` (any `amine train --augment`,
//! e.g. `shift-random:1+rotate:10+drop:5`), `rates=A,B,…` (a factor on RATE per layer of weights), `own=negatives|excluded|pooled` (sigprop, chip form: the own class's other contexts in the loss), `probe=1` (sigprop: after every epoch also
//! the test accuracy of every read-out of `amine_tasks::ff::readouts`, same weights).
use amine_tasks::ff::{FfConfig, Rule};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (a, opts): (Vec<String>, Vec<String>) =
        std::env::args().skip(1).partition(|v| !v.contains('='));
    let rule = match a[0].as_str() {
        "backprop" => Rule::Backprop,
        "dfa" => Rule::Dfa,
        _ => Rule::Sigprop,
    };
    let task = a.get(6).cloned().unwrap_or_else(|| "digits".into());
    let spec = amine_tasks::parse_task(&task)?;
    let mut cfg = FfConfig::for_task(rule, &spec);
    // `128,64`, or the first layer patch-wired: `1440p5s2,128` (amine_tasks::dual_ed::Hidden).
    cfg.hidden.clear();
    for (l, h) in amine_tasks::dual_ed::Hidden::parse_list(&a[1])?
        .into_iter()
        .enumerate()
    {
        match h {
            amine_tasks::dual_ed::Hidden::Dense { units } => cfg.hidden.push(units),
            amine_tasks::dual_ed::Hidden::Patch {
                units,
                size,
                stride,
            } if l == 0 => {
                cfg.hidden.push(units);
                cfg.patch = Some(amine_tasks::ff::Patch { size, stride });
            }
            _ => return Err(format!("hidden layer {h}: dense, or patch-wired first").into()),
        }
    }
    cfg.rate = a[2].parse()?;
    cfg.batch = a[3].parse()?;
    cfg.epochs = a[4].parse()?;
    cfg.seed = a[5].parse()?;
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
    let (augment, probe) = options(&mut cfg, &opts)?;
    let mut split = spec.load()?;
    if let Some(a) = augment {
        split.train = a.apply(&split.train)?;
    }
    let r = amine_tasks::ff::train_probing(&cfg, &split, augment, probe, &mut |e, scores| {
        println!(
            "epoch {} train {:.4} test {:.4}",
            e.epoch, e.train_accuracy, e.test_accuracy
        );
        for s in scores {
            println!(
                "readout {} {}: test {:.4}",
                e.epoch, s.name, s.test_accuracy
            );
        }
    })?;
    println!("final {:.4}", r.test_accuracy());
    Ok(())
}

type Augment = amine_tasks::datasets::augment::Augment;

/// The KEY=VALUE options into `cfg`; the augmentation and whether to probe read-outs.
fn options(
    cfg: &mut FfConfig,
    opts: &[String],
) -> Result<(Option<Augment>, bool), Box<dyn std::error::Error>> {
    let mut augment = None;
    let mut probe = false;
    for o in opts {
        let (k, v) = o.split_once('=').ok_or("options are KEY=VALUE")?;
        match k {
            "decay" => cfg.rate_decay = v.parse()?,
            "complement" => cfg.complement_inputs = v == "1",
            "readout" if v == "sum" => cfg.sigprop.readout = amine_tasks::ff::sigprop::Readout::Sum,
            "readout" if v == "mean" => {
                cfg.sigprop.readout = amine_tasks::ff::sigprop::Readout::Mean
            }
            "readout" => cfg.sigprop.readout = amine_tasks::ff::sigprop::Readout::Last,
            "targets" => cfg.sigprop.target_updates = v == "1",
            "init" => cfg.init_scale = v.parse()?,
            "context" if v == "mean" => {
                cfg.sigprop.context = amine_tasks::ff::sigprop::ContextForm::ClassMean
            }
            "context" => cfg.sigprop.context = amine_tasks::ff::sigprop::ContextForm::Random,
            "wd" => cfg.weight_decay = v.parse()?,
            "k" => cfg.sigprop.contexts_per_class = v.parse()?,
            "pooled" => cfg.sigprop.pooled_readout = v == "1",
            "aug" => augment = Some(Augment::parse(&format!("shift:{v}"))?),
            "raug" => augment = Some(Augment::parse(&format!("shift-random:{v}"))?),
            "augment" => augment = Some(Augment::parse(v)?),
            "probe" => probe = v == "1",
            "own" => {
                cfg.sigprop.own_class = match v {
                    "excluded" => amine_tasks::ff::sigprop::OwnClass::Excluded,
                    "pooled" => amine_tasks::ff::sigprop::OwnClass::Pooled,
                    "negatives" => amine_tasks::ff::sigprop::OwnClass::Negatives,
                    _ => return Err(format!("own={v}: negatives, excluded or pooled").into()),
                }
            }
            "rates" => cfg.rate_scales = v.split(',').map(str::parse).collect::<Result<_, _>>()?,
            _ => return Err(format!("unknown option {k}").into()),
        }
    }
    Ok((augment, probe))
}
