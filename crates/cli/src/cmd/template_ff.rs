//! `amine template dfa` and `amine template sigprop`: feed-forward rules as programs.

use crate::args::TemplateArgs;
use amine_chip::image::sigprop::{SigpropOwnClass, SigpropReadout};
use amine_compiler::templates::{dfa, sigprop, DfaNetwork, SigpropNetwork};
use anyhow::{bail, Context, Result};

/// Every option of `amine template` with whether it was given (`--seed` and `-o`, which
/// every template takes, aside).
/// The options of the layered templates (`ed`, `dfa`, `sigprop`), each with whether it
/// was given: `amine template eprop` refuses every one of them.
pub(super) fn layered_flags(a: &TemplateArgs) -> [(&'static str, bool); 11] {
    [
        ("--inputs", a.inputs.is_some()),
        ("--classes", a.classes.is_some()),
        ("--hidden", a.hidden.is_some()),
        ("--routing", a.routing.is_some()),
        ("--widths", a.widths.is_some()),
        ("--eta", a.eta.is_some()),
        ("--centring", a.centring.is_some()),
        ("--symmetric-init", a.symmetric_init),
        ("--credit", a.credit.is_some()),
        ("--shared-hidden", a.shared_hidden),
        ("--diffusion-steps", a.diffusion_steps.is_some()),
    ]
}

fn given(a: &TemplateArgs) -> Vec<(&'static str, bool)> {
    let mut v = layered_flags(a).to_vec();
    v.extend([
        ("--task", a.task.is_some()),
        ("--rate", a.rate.is_some()),
        ("--beta", a.beta.is_some()),
        ("--context-mean", a.context_mean.is_some()),
        ("--contexts", a.contexts.is_some()),
        ("--contexts-per-class", a.contexts_per_class.is_some()),
        ("--complement", a.complement.is_some()),
        ("--rate-decay", a.rate_decay.is_some()),
        ("--readout", a.readout.is_some()),
        ("--own-class", a.own_class.is_some()),
        ("--chip", a.chip.is_some()),
        ("--set", !a.set.is_empty()),
    ]);
    v.extend(super::template::template_flags(&a.eprop));
    v
}

/// Refuse, naming it, the first option given that `amine template {kind}` does not take
/// (`takes`, besides `--seed` and `-o`).
fn refuse_others(a: &TemplateArgs, kind: &str, takes: &[&str]) -> Result<()> {
    if let Some((flag, _)) = given(a)
        .into_iter()
        .find(|(flag, given)| *given && !takes.contains(flag))
    {
        bail!(
            "{flag} is not an option of `amine template {kind}` (it takes {}, --seed, -o)",
            takes.join(", ")
        );
    }
    Ok(())
}

/// Refuse, naming it, an option only the feed-forward templates (dfa, sigprop) take:
/// `amine template ed` and `amine template eprop` would otherwise ignore it silently.
pub(crate) fn refuse_feedforward_only(a: &TemplateArgs, kind: &str) -> Result<()> {
    const FEEDFORWARD_ONLY: [&str; 11] = [
        "--own-class",
        "--rate",
        "--beta",
        "--context-mean",
        "--contexts",
        "--contexts-per-class",
        "--complement",
        "--rate-decay",
        "--readout",
        "--chip",
        "--set",
    ];
    if let Some((flag, _)) = given(a)
        .into_iter()
        .find(|(flag, given)| *given && FEEDFORWARD_ONLY.contains(flag))
    {
        bail!("{flag} is not an option of `amine template {kind}` (it is for dfa or sigprop)");
    }
    Ok(())
}

/// `amine template dfa`: the direct-feedback-alignment network (docs/feedforward-rules.md).
pub fn template_dfa(a: TemplateArgs) -> Result<()> {
    refuse_others(&a, "dfa", &["--inputs", "--classes", "--hidden", "--rate"])?;
    let d = DfaNetwork::default();
    let hidden = match a.hidden.as_deref() {
        None => d.hidden,
        Some(h) => h
            .parse::<u32>()
            .map_err(|_| anyhow::anyhow!("--hidden {h}: one number of hidden units"))?,
    };
    let mut net = DfaNetwork {
        inputs: a.inputs.unwrap_or(d.inputs),
        classes: a.classes.unwrap_or(d.classes),
        hidden,
        rate: a.rate.unwrap_or(d.rate),
        seed: a.seed,
        ..d
    };
    net.name = super::template::program_name(&a, &net.name);
    if !(net.rate.is_finite() && net.rate > 0.0) {
        bail!("--rate {}: must be finite and > 0", net.rate);
    }
    net.check()
        .map_err(|e| anyhow::anyhow!("--hidden {}: {e}", net.hidden))?;
    let program = dfa(&net);
    let text = format!(
        "// Direct feedback alignment, {} inputs, {} hidden, {} classes (docs/feedforward-rules.md),\n\
         // written by `amine template dfa`. Train it with\n\
         //   amine train {} --task digits --report out/\n{}",
        net.inputs,
        net.hidden,
        net.classes,
        a.output.display(),
        program.to_ron()
    );
    amine_chip::error::write_atomically(&a.output, text.as_bytes())
        .with_context(|| format!("writing {}", a.output.display()))?;
    outln!(
        "wrote {} ({} hidden units, {} feedback injections)",
        a.output.display(),
        net.hidden,
        program.modulators.len()
    );
    Ok(())
}

/// Contexts per class with class-mean contexts unless `--contexts-per-class` says: the
/// best of K = 1, 2, 3, 4, 6, 8 in the chip-form f64 reference on the digits
/// (docs/sigprop.md, "Sub-class prototypes").
const CLASS_MEAN_CONTEXTS_PER_CLASS: u32 = 4;

/// `amine template sigprop`: supervised signal propagation on the chip's sigprop unit
/// (docs/sigprop.md, "Sigprop on the chip"). Refuses, naming the option, a
/// network the chip's unit cannot run; nothing is written then.
pub fn template_sigprop(a: TemplateArgs) -> Result<()> {
    refuse_others(
        &a,
        "sigprop",
        &[
            "--inputs",
            "--classes",
            "--hidden",
            "--beta",
            "--rate",
            "--rate-decay",
            "--readout",
            "--own-class",
            "--batch",
            "--contexts",
            "--contexts-per-class",
            "--context-mean",
            "--complement",
            "--task",
            "--chip",
            "--set",
        ],
    )?;
    let class_mean = match a.contexts.as_deref().unwrap_or("class-mean") {
        "class-mean" => true,
        "random" => false,
        c => bail!("--contexts {c}: class-mean or random"),
    };
    let mut net = sigprop_network(&a)?;
    net.contexts_per_class = a.contexts_per_class.unwrap_or(if class_mean {
        CLASS_MEAN_CONTEXTS_PER_CLASS
    } else {
        1
    });
    let chip_name = a.chip.as_deref().unwrap_or("loihi-sigprop");
    let chip = super::compile::resolve_chip(chip_name, &a.set)?.config;
    net.check(&chip)
        .map_err(|e| refusal(&a, chip_name, &net, e))?;
    if class_mean {
        if a.context_mean.is_some() {
            bail!("--context-mean is for --contexts random");
        }
        let task = a.task.as_deref().unwrap_or("digits");
        let given = (a.inputs.is_some(), a.classes.is_some());
        net.contexts = Some(class_means(&mut net, task, given)?);
    } else if a.task.is_some() {
        bail!("--task is for --contexts class-mean (the class means of its training set)");
    }
    if let Some(h) = a.hidden.as_deref() {
        // Patch wiring, once the inputs are known (`amine_tasks::dual_ed::patch`, one
        // unit a class: unit `j` at position `j mod positions`).
        let (_, fields) = super::template::dual_hidden(h, net.inputs, 1)?;
        if fields.is_some() && net.complement {
            bail!("--hidden {h}: a patch-wired first layer reads one image; add --complement off");
        }
        net.receptive_fields = fields;
    }
    net.check(&chip)
        .map_err(|e| refusal(&a, chip_name, &net, e))?;
    let program = sigprop(&net);
    let text = format!(
        "// Sigprop, {} inputs, layers {:?}, {} classes, β {} (docs/sigprop.md),\n\
         // written by `amine template sigprop`. Train it with\n\
         //   amine train {} --chip {chip_name}{} --task {} --report out/\n{}",
        net.inputs,
        net.hidden,
        net.classes,
        net.beta,
        a.output.display(),
        a.set
            .iter()
            // A line break would end the comment (and is whitespace to the value).
            .map(|s| format!(" --set {}", s.replace(['\n', '\r'], " ")))
            .collect::<String>(),
        a.task.as_deref().unwrap_or("digits"),
        program.to_ron()
    );
    amine_chip::error::write_atomically(&a.output, text.as_bytes())
        .with_context(|| format!("writing {}", a.output.display()))?;
    outln!(
        "wrote {} (layers {:?}, {} classes × {} contexts)",
        a.output.display(),
        net.hidden,
        net.classes,
        net.contexts_per_class
    );
    Ok(())
}

/// A refusal of `net` on `chip_name`, naming, on the default chip, the shipped preset
/// whose register file would hold its contexts.
fn refusal(
    a: &TemplateArgs,
    chip_name: &str,
    net: &SigpropNetwork,
    (option, message): (&str, String),
) -> anyhow::Error {
    let larger = amine_chip::presets::sigprop_preset_for(u64::from(net.contexts_count()))
        .filter(|n| a.chip.is_none() && a.set.is_empty() && *n != chip_name);
    match larger {
        Some(n) => anyhow::anyhow!("{option}: {message}; `--chip {n}` holds them"),
        None => anyhow::anyhow!("{option}: {message}"),
    }
}

/// The sigprop network of the options, contexts not yet formed.
fn sigprop_network(a: &TemplateArgs) -> Result<SigpropNetwork> {
    let d = SigpropNetwork::default();
    // Layer widths; the first may be patch-wired (`1008p5s2,128`), its wiring formed
    // once the inputs are known (`template_sigprop`).
    let hidden = match a.hidden.as_deref() {
        None => d.hidden.clone(),
        Some(h) => amine_tasks::dual_ed::Hidden::parse_list(h)
            .map_err(|e| anyhow::anyhow!("--hidden {h}: {e}"))?
            .iter()
            .enumerate()
            .map(|(l, layer)| match *layer {
                amine_tasks::dual_ed::Hidden::Dense { units } => Ok(units),
                amine_tasks::dual_ed::Hidden::Patch { units, .. } if l == 0 => Ok(units),
                _ => Err(anyhow::anyhow!(
                    "--hidden {h}: layer {}: a unit count, or `<units>p<size>s<stride>` (patch wiring) for the first layer",
                    l + 1
                )),
            })
            .map(|u| u.and_then(|u| u32::try_from(u).map_err(|_| anyhow::anyhow!("--hidden {h}: {u} units is too many"))))
            .collect::<Result<Vec<_>>>()?,
    };
    let complement = match a.complement.as_deref() {
        None => d.complement,
        Some("on") => true,
        Some("off") => false,
        Some(c) => bail!("--complement {c}: on or off"),
    };
    let readout = match a.readout.as_deref() {
        None => d.readout,
        Some("last") => SigpropReadout::Last,
        Some("sum") => SigpropReadout::Sum,
        Some(r) => bail!("--readout {r}: last or sum"),
    };
    let own_class = match a.own_class.as_deref() {
        None => SigpropOwnClass::Negatives,
        Some(o) => match SigpropOwnClass::ALL.into_iter().find(|t| t.name() == o) {
            Some(t) => t,
            None => bail!("--own-class {o}: negatives, excluded or pooled"),
        },
    };
    let mut net = SigpropNetwork {
        readout,
        own_class,
        inputs: a.inputs.unwrap_or(d.inputs),
        classes: a.classes.unwrap_or(d.classes),
        hidden,
        beta: a.beta.unwrap_or(d.beta),
        rate: a.rate.unwrap_or(d.rate),
        rate_decay: a.rate_decay.unwrap_or(d.rate_decay),
        batch: a.eprop.batch.unwrap_or(d.batch),
        context_mean: a.context_mean.unwrap_or(d.context_mean),
        complement,
        seed: a.seed,
        ..d
    };
    net.name = super::template::program_name(a, &net.name);
    if !(net.context_mean.is_finite() && net.context_mean > 0.0 && net.context_mean <= 0.5) {
        bail!("--context-mean {}: must be in (0, 0.5]", net.context_mean);
    }
    Ok(net)
}

/// The class-mean contexts of `net` from `task`'s training set, in the port's layout
/// (`amine_tasks::ff::sigprop::contexts`, the f64 reference's own contexts). The
/// network takes the task's inputs and classes unless `given` (--inputs, --classes);
/// given ones must match.
fn class_means(net: &mut SigpropNetwork, task: &str, given: (bool, bool)) -> Result<Vec<Vec<f64>>> {
    use amine_tasks::ff::{sigprop::ContextForm, FfConfig, Rule, SigpropConfig};
    let split = amine_tasks::parse_task(task)
        .and_then(|t| t.load())
        .with_context(|| format!("--task {task}"))?;
    let (inputs, classes) = (split.train.input_len(), split.classes());
    if !given.0 {
        net.inputs = u32::try_from(inputs).unwrap_or(u32::MAX);
    }
    if !given.1 {
        net.classes = u32::try_from(classes).unwrap_or(u32::MAX);
    }
    if inputs != net.inputs as usize || classes != net.classes as usize {
        bail!(
            "--task {task}: {inputs} inputs and {classes} classes; the network has {} and {} (--inputs, --classes)",
            net.inputs,
            net.classes
        );
    }
    let base = FfConfig::digits(Rule::Sigprop);
    let cfg = FfConfig {
        complement_inputs: net.complement,
        input_bias: Some(amine_compiler::templates::BIAS),
        seed: net.seed,
        sigprop: SigpropConfig {
            context: ContextForm::ClassMean,
            context_scale: 1.0,
            contexts_per_class: net.contexts_per_class as usize,
            ..base.sigprop.clone()
        },
        ..base
    };
    Ok(amine_tasks::ff::sigprop::contexts(
        &cfg,
        &split.train,
        classes,
    ))
}

/// The f64 reference of a DFA program (`amine template dfa`'s layout: a hidden
/// population `h`, outputs `out{c}`), or `None` for another layout: the same widths and
/// rate, the chip's form of the network (`FfConfig::dfa_chip_form`).
pub fn dfa_float_reference(
    program: &amine_compiler::program::Program,
    split: &amine_tasks::Split,
    epochs: usize,
    seed: u64,
) -> Option<Result<amine_train::report::FloatReference>> {
    use amine_compiler::templates::WEIGHT_SCALE;
    let h = program.populations.iter().find(|p| p.name == "h")?;
    if !program.populations.iter().any(|p| p.name == "out0") {
        return None;
    }
    let rate = program
        .projections
        .iter()
        .find_map(|p| {
            let rule = &p.learning.as_ref()?.rule;
            rule.strip_prefix("dw = ")?
                .split('*')
                .next()?
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map(|a| a / WEIGHT_SCALE)
        .unwrap_or(DfaNetwork::default().rate);
    let cfg = amine_tasks::ff::FfConfig {
        epochs,
        seed,
        ..amine_tasks::ff::FfConfig::dfa_chip_form(h.size as usize, rate)
    };
    let mut curve = Vec::new();
    Some(
        amine_tasks::ff::train(&cfg, split, &mut |e| curve.push(e.test_accuracy))
            .map(|r| amine_train::report::FloatReference {
                test_accuracy: r.test_accuracy(),
                train_accuracy: r.epochs.last().map_or(0.0, |e| e.train_accuracy),
                curve,
                config: format!(
                    "DFA (amine_tasks::ff), layers {:?}, bias as a constant 0.8 input, raw-error feedback, rate {rate}, {epochs} epochs, seed {seed}",
                    r.sizes
                ),
            })
            .map_err(Into::into),
    )
}

/// The f64 reference of a sigprop program (a `sigprop` section), or `None` for another
/// program: its layers, β, mini-batch and contexts read back from the program, the rate
/// from the layers' rule (`α = rate/batch · WEIGHT_SCALE`), in the chip's form
/// (`FfConfig::sigprop_chip_form`).
pub fn sigprop_float_reference(
    program: &amine_compiler::program::Program,
    split: &amine_tasks::Split,
    epochs: usize,
    seed: u64,
    augment: Option<amine_tasks::datasets::augment::Augment>,
) -> Option<Result<amine_train::report::FloatReference>> {
    use amine_compiler::templates::WEIGHT_SCALE;
    let spec = program.sigprop.as_ref()?;
    let hidden: Vec<usize> = spec
        .layers
        .iter()
        .filter_map(|l| program.populations.iter().find(|p| &p.name == l))
        .map(|p| p.size as usize)
        .collect();
    let alpha = program
        .projections
        .iter()
        .find_map(|p| {
            let rule = &p.learning.as_ref()?.rule;
            rule.strip_prefix("dw = ")?
                .split('*')
                .next()?
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(0.0);
    let batch = spec.batch.max(1) as usize;
    let rate = alpha / WEIGHT_SCALE * batch as f64;
    // A patch-wired first layer: the port's explicit list read back as its geometry.
    let patch = program
        .projections
        .iter()
        .find(|p| p.from == spec.port && Some(&p.to) == spec.layers.first())
        .and_then(|p| match &p.connect {
            amine_compiler::program::Connect::Sparse(list) => {
                let port = program.inputs.iter().find(|i| i.name == spec.port)?.size;
                amine_tasks::dual_ed::patch::recognise(list, port as usize, *hidden.first()?, 1)
            }
            _ => None,
        })
        .map(|(size, stride)| amine_tasks::ff::Patch { size, stride });
    let cfg = amine_tasks::ff::FfConfig {
        epochs,
        seed,
        ..amine_tasks::ff::FfConfig::sigprop_chip_form(amine_tasks::ff::SigpropChipForm {
            hidden,
            rate,
            rate_decay: spec.rate_decay,
            beta: f64::from(spec.beta),
            batch,
            complement_inputs: spec.complement,
            readout_sum: spec.readout == SigpropReadout::Sum,
            contexts: spec.contexts.clone(),
            contexts_per_class: spec.contexts_per_class.max(1) as usize,
            patch,
            own_class: match spec.own_class {
                SigpropOwnClass::Negatives => amine_tasks::ff::sigprop::OwnClass::Negatives,
                SigpropOwnClass::Excluded => amine_tasks::ff::sigprop::OwnClass::Excluded,
                SigpropOwnClass::Pooled => amine_tasks::ff::sigprop::OwnClass::Pooled,
            },
        })
    };
    let mut curve = Vec::new();
    Some(
        amine_tasks::ff::train_augmented(&cfg, split, augment, &mut |e| {
            curve.push(e.test_accuracy)
        })
            .map(|r| amine_train::report::FloatReference {
                test_accuracy: r.test_accuracy(),
                train_accuracy: r.epochs.last().map_or(0.0, |e| e.train_accuracy),
                curve,
                config: format!(
                    "sigprop, chip form (amine_tasks::ff), layers {:?}{}, β {}, rate {rate} × {}^epoch, batch {batch}, the program's contexts ({} a class), complement inputs {}, bias as a constant 0.8 input, per-sample updates, read-out {:?}, own class's other contexts {:?}, {epochs} epochs, seed {seed}",
                    r.sizes, patch.map_or(String::new(), |p| format!(" (first patch-wired, {0}×{0} patches at stride {1})", p.size, p.stride)), spec.beta, spec.rate_decay, spec.contexts_per_class.max(1), spec.complement, spec.readout, spec.own_class
                ),
            })
            .map_err(Into::into),
    )
}
