//! `amine template ed|eprop` (and the dispatch to `dfa`/`sigprop` in `template_ff`):
//! the programs `amine train` runs, written to a file.

use crate::args::{EpropFlags, TemplateArgs};
use amine_compiler::templates::{
    dual_stream_error_diffusion, error_diffusion, Credit, DualEdNetwork, EdNetwork,
};
use amine_tasks::eprop::{Condition, TaskKind};
use amine_train::eprop::report::condition_name;
use amine_train::eprop::{template_program, TemplateOptions};
use anyhow::{bail, Context, Result};

/// The template flags that were given, by name.
pub(super) fn template_flags(f: &EpropFlags) -> Vec<(&'static str, bool)> {
    vec![
        ("--condition", f.condition.is_some()),
        ("--batch", f.batch.is_some()),
        ("--lr", f.lr.is_some()),
        ("--adam", f.adam.is_some()),
        ("--k", f.k.is_some()),
        ("--c-reg", f.c_reg.is_some()),
        ("--weight-bits", f.weight_bits.is_some()),
        ("--frac-bits", f.frac_bits.is_some()),
        ("--strict-decay", f.strict_decay),
    ]
}

/// The template's settings from the flags (the network's widths are checked when the
/// program compiles for the chip).
pub(super) fn template_options(f: &EpropFlags) -> Result<TemplateOptions> {
    let mut o = TemplateOptions {
        weight_bits: f.weight_bits,
        frac_bits: f.frac_bits,
        lazy_decay: f.strict_decay.then_some(false),
        ..TemplateOptions::default()
    };
    if let Some(k) = f.k {
        if !(k.is_finite() && (0.0..=1.0).contains(&k)) {
            bail!("--k {k}: must be in [0, 1]");
        }
        o.k = Some(k);
    }
    if let Some(c) = f.c_reg {
        if !(c.is_finite() && c >= 0.0) {
            bail!("--c-reg {c}: must be finite and not negative");
        }
        o.c_reg = Some(c);
    }
    if f.batch == Some(0) {
        bail!("--batch 0: must be at least 1");
    }
    o.batch = f.batch;
    o.update = match (f.lr.as_deref().map(parse_lr).transpose()?, f.adam) {
        (Some(_), Some(_)) => bail!("--lr selects the plain update, --adam Adam: give one"),
        (Some(lr), None) => Some(amine_compiler::templates::Update::Sgd { lr }),
        (None, Some(step)) => {
            if !(step.is_finite() && step > 0.0) {
                bail!("--adam {step}: must be finite and positive");
            }
            Some(amine_compiler::templates::Update::Adam { step })
        }
        (None, None) => None,
    };
    Ok(o)
}

/// The written program's name: the output file's stem, else `default`.
pub(super) fn program_name(a: &TemplateArgs, default: &str) -> String {
    a.output
        .file_stem()
        .map_or_else(|| default.into(), |s| s.to_string_lossy().into_owned())
}

pub fn template(a: TemplateArgs) -> Result<()> {
    match a.kind.as_str() {
        "ed" => template_ed(a),
        "eprop" => template_eprop(a),
        "dfa" => super::template_ff::template_dfa(a),
        "sigprop" => super::template_ff::template_sigprop(a),
        k => bail!("unknown template `{k}`; known: ed, eprop, dfa, sigprop"),
    }
}

/// `amine template eprop --task T --condition C`: the e-prop program of a task.
fn template_eprop(a: TemplateArgs) -> Result<()> {
    super::template_ff::refuse_feedforward_only(&a, "eprop")?;
    let ed_only = super::template_ff::layered_flags(&a);
    if let Some((flag, _)) = ed_only.iter().find(|(_, given)| *given) {
        bail!("{flag} is for the layered templates (`amine template ed`, dfa, sigprop), not eprop");
    }
    let Some(task) = a.task.as_deref() else {
        bail!("`amine template eprop` needs --task cue-accumulation, delayed-match or pattern-generation");
    };
    let task = TaskKind::parse(task).map_err(|e| anyhow::anyhow!("--task {task}: {e}"))?;
    let conditions = parse_conditions(Some(a.eprop.condition.as_deref().unwrap_or("diffusion")))?;
    let [condition] = conditions.as_slice() else {
        bail!("--condition: the template writes one program, for one condition");
    };
    let mut program = template_program(task, *condition, &template_options(&a.eprop)?);
    program.seed = a.seed;
    program.name = program_name(&a, &program.name);
    let text = format!(
        "// The e-prop network of {} under {} feedback (docs/eprop.md, \"Programs\"),\n\
         // written by `amine template eprop`. Train it with\n\
         //   amine train {} --task {} --seeds 5 --threads 2 --report out/\n{}",
        amine_train::eprop::report::task_name(task),
        condition_name(*condition),
        a.output.display(),
        amine_train::eprop::report::task_name(task),
        program.to_ron()
    );
    amine_chip::error::write_atomically(&a.output, text.as_bytes())
        .with_context(|| format!("writing {}", a.output.display()))?;
    let e = program.eprop.as_ref();
    outln!(
        "wrote {} ({} neurons, {} inputs, {} readouts, trials of {} steps)",
        a.output.display(),
        program.populations.iter().map(|p| p.size).sum::<u32>(),
        program.inputs.first().map_or(0, |i| i.size),
        e.map_or(0, |e| e.readout.size),
        e.map_or(0, |e| e.trial.steps)
    );
    Ok(())
}

fn template_ed(a: TemplateArgs) -> Result<()> {
    super::template_ff::refuse_feedforward_only(&a, "ed")?;
    let eprop_only = [("--task", a.task.is_some())]
        .into_iter()
        .chain(template_flags(&a.eprop));
    if let Some((flag, _)) = eprop_only.into_iter().find(|(_, given)| *given) {
        bail!("{flag} is for `amine template eprop`, not ed");
    }
    match a.routing.as_deref().unwrap_or("per-class") {
        "per-class" => {}
        "modulo" => return template_dual_ed(a),
        r => bail!("--routing {r}: per-class or modulo"),
    }
    let modulo_only = [
        ("--widths", a.widths.is_some()),
        ("--eta", a.eta.is_some()),
        ("--centring", a.centring.is_some()),
        ("--symmetric-init", a.symmetric_init),
    ];
    if let Some((flag, _)) = modulo_only.iter().find(|(_, given)| *given) {
        bail!("{flag} is for `amine template ed --routing modulo`");
    }
    let hidden = match a.hidden.as_deref() {
        None => 64,
        Some(h) => h
            .parse::<u32>()
            .map_err(|_| anyhow::anyhow!("--hidden {h}: one number of hidden units per class"))?,
    };
    if hidden == 0 || !hidden.is_multiple_of(2) {
        bail!(
            "--hidden {}: must be even and positive (half excitatory, half inhibitory)",
            hidden
        );
    }
    let credit = match a.credit.as_deref().unwrap_or("broadcast") {
        "broadcast" => Credit::Broadcast,
        "diffusion" => match Credit::diffusion() {
            Credit::Diffusion {
                edge,
                corner,
                decay,
                ..
            } => Credit::Diffusion {
                edge,
                corner,
                decay,
                steps: a.diffusion_steps.unwrap_or(6),
            },
            c => c,
        },
        c => bail!("--credit {c}: broadcast or diffusion"),
    };
    let net = EdNetwork {
        name: program_name(&a, "ed"),
        inputs: a.inputs.unwrap_or(64),
        classes: a.classes.unwrap_or(10),
        hidden_per_class: hidden,
        seed: a.seed,
        credit,
        shared_hidden: a.shared_hidden,
        ..EdNetwork::default()
    };
    let text = error_diffusion(&net).to_ron();
    amine_chip::error::write_atomically(&a.output, text.as_bytes())
        .with_context(|| format!("writing {}", a.output.display()))?;
    outln!(
        "wrote {} ({} classes × {} hidden, {} steps per sample)",
        a.output.display(),
        net.classes,
        hidden,
        net.steps_per_sample()
    );
    Ok(())
}

/// A comma-separated list of numbers for `flag`.
fn number_list<T: std::str::FromStr>(flag: &str, v: &str) -> Result<Vec<T>> {
    v.split(',')
        .map(|x| {
            x.trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("{flag} {v}: `{x}` is not a number"))
        })
        .collect()
}

/// The sources of each first-layer unit (`DualEdNetwork::receptive_fields`).
type Fields = Vec<Vec<u32>>;

/// `--hidden` of the shared network: units per layer, the first optionally patch-wired
/// (`360p3`: 360 units, each reading a 3×3 patch of the square input image and the bias;
/// `1440p5s2`: 5×5 patches at stride 2; `amine_tasks::dual_ed::patch`). Returns the sizes and the first layer's sources.
pub(super) fn dual_hidden(
    h: &str,
    inputs: u32,
    classes: u32,
) -> Result<(Vec<u32>, Option<Fields>)> {
    use amine_tasks::dual_ed::{patch, Hidden};
    let layers = Hidden::parse_list(h).map_err(|e| anyhow::anyhow!("--hidden {h}: {e}"))?;
    let sources = inputs as usize + 1; // the bias unit last
    let mut fields = None;
    let mut sizes = Vec::new();
    for (l, layer) in layers.iter().enumerate() {
        let units = match *layer {
            Hidden::Dense { units } => units,
            Hidden::Patch {
                units,
                size,
                stride,
            } if l == 0 => {
                let side = (inputs as usize).isqrt();
                if side * side != inputs as usize {
                    bail!("--hidden {h}: patch wiring needs a square image; --inputs {inputs} is not a square");
                }
                patch::check(sources, size, stride)
                    .map_err(|e| anyhow::anyhow!("--hidden {h}: {e}"))?;
                let f = (0..units)
                    .map(|j| {
                        let s = patch::sources(sources, size, stride, j, classes as usize);
                        s.into_iter().map(|i| i as u32).collect()
                    })
                    .collect();
                fields = Some(f);
                units
            }
            _ => bail!("--hidden {h}: layer {}: a unit count, or `<units>p<size>` (patch wiring) for the first layer", l + 1),
        };
        sizes.push(
            u32::try_from(units)
                .map_err(|_| anyhow::anyhow!("--hidden {h}: {units} units is too many"))?,
        );
    }
    Ok((sizes, fields))
}

/// `amine template ed --routing modulo`: the shared dual-stream network.
fn template_dual_ed(a: TemplateArgs) -> Result<()> {
    for (flag, given) in [
        ("--credit", a.credit.is_some()),
        ("--shared-hidden", a.shared_hidden),
        ("--diffusion-steps", a.diffusion_steps.is_some()),
    ] {
        if given {
            bail!("{flag} is for the per-class network; --routing modulo broadcasts each class's error into its region");
        }
    }
    let base = DualEdNetwork::default();
    let inputs = a.inputs.unwrap_or(base.inputs);
    let classes = a.classes.unwrap_or(base.classes);
    let (hidden, receptive_fields) = match a.hidden.as_deref() {
        Some(h) => dual_hidden(h, inputs, classes)?,
        None => (base.hidden.clone(), None),
    };
    let widths = match a.widths.as_deref() {
        Some(w) => number_list("--widths", w)?,
        None => DualEdNetwork::default_widths(hidden.len()),
    };
    let centring = match a.centring.as_deref() {
        None => base.centring,
        Some("off") => None,
        Some(r) => Some(
            r.parse::<f64>()
                .map_err(|_| anyhow::anyhow!("--centring {r}: a rate (a power of two) or off"))?,
        ),
    };
    let net = DualEdNetwork {
        name: program_name(&a, "dual_ed"),
        inputs,
        classes,
        hidden,
        receptive_fields,
        widths,
        eta: a.eta.unwrap_or(base.eta),
        centring,
        asymmetric_init: !a.symmetric_init,
        seed: a.seed,
        ..base
    };
    let program = dual_stream_error_diffusion(&net).map_err(|ps| anyhow::anyhow!(ps.join("; ")))?;
    amine_chip::error::write_atomically(&a.output, program.to_ron().as_bytes())
        .with_context(|| format!("writing {}", a.output.display()))?;
    outln!(
        "wrote {} ({} classes, hidden layers {:?} as E and I streams, modulo routing, {} steps per sample)",
        a.output.display(),
        net.classes,
        net.hidden,
        net.steps_per_sample()
    );
    Ok(())
}

/// `--condition diffusion,sparse`: each name once, at least one.
pub(super) fn parse_conditions(list: Option<&str>) -> Result<Vec<Condition>> {
    let Some(list) = list else {
        return Ok(vec![
            Condition::Diffusion,
            Condition::Sparse,
            Condition::Full,
        ]);
    };
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim) {
        if name.is_empty() {
            bail!(
                "--condition {list}: an empty name; give a comma list of diffusion, sparse, full"
            );
        }
        let c = Condition::parse(name).map_err(|e| anyhow::anyhow!("--condition {list}: {e}"))?;
        if out.contains(&c) {
            bail!("--condition {list}: `{name}` is given twice");
        }
        out.push(c);
    }
    Ok(out)
}

/// `--lr IN,REC,OUT`: three finite, non-negative rates.
pub(super) fn parse_lr(text: &str) -> Result<[f64; 3]> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [i, r, o] = parts.as_slice() else {
        bail!(
            "--lr {text}: expected three rates IN,REC,OUT (input, recurrent, readout), e.g. 65,327,25; got {}",
            parts.len()
        );
    };
    let mut lr = [0.0; 3];
    for (slot, (part, what)) in lr
        .iter_mut()
        .zip([(i, "input"), (r, "recurrent"), (o, "readout")])
    {
        let v: f64 = part.parse().map_err(|_| {
            anyhow::anyhow!("--lr {text}: the {what} rate `{part}` is not a number")
        })?;
        if !(v.is_finite() && v >= 0.0) {
            bail!("--lr {text}: the {what} rate must be finite and not negative");
        }
        *slot = v;
    }
    Ok(lr)
}
