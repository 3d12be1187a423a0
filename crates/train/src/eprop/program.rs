//! e-prop programs for the tasks: the template filled from the float reference's
//! settings (`amine_tasks::eprop::EpropConfig::new`, the one place the task's network
//! is defined), what a program's settings are (for reports), whether a program fits a
//! task, and the float reference's network for a compiled program.

use crate::error::{Error, ErrorKind};
use amine_chip::image::eprop::ErrorKind as ErrorUnits;
use amine_chip::image::ChipImage;
use amine_compiler::program::eprop::{FeedbackWeights, UpdateSpec, RULE};
use amine_compiler::program::Program;
use amine_compiler::templates::{eprop, EpropNetwork, Feedback, Update};
use amine_tasks::eprop::{Condition, EpropConfig, Net, NetParams, TaskGen, TaskKind};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// What the command line may change in the template (`None`: the task's default).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TemplateOptions {
    pub k: Option<f64>,
    pub c_reg: Option<f64>,
    pub weight_bits: Option<u8>,
    pub frac_bits: Option<u8>,
    pub lazy_decay: Option<bool>,
    /// Adam's step (float units), or the plain update's rates (input, recurrent,
    /// readout); `None`: Adam at 0.005.
    pub update: Option<Update>,
    pub batch: Option<u32>,
}

/// The float model's threshold: a program's weights are read in the float model's units
/// with it (the template's convention, `THRESHOLD` weight units per `thr`).
pub const FLOAT_THR: f64 = 0.03;

/// The e-prop program of `task` under `condition`: the float reference's network and
/// trial (docs/eprop.md) written by the template, with `o`'s changes.
pub fn template_program(task: TaskKind, condition: Condition, o: &TemplateOptions) -> Program {
    let f = EpropConfig::new(task, condition);
    // The float settings are f32: take each as the decimal it was written as.
    let d = |x: f32| x.to_string().parse::<f64>().unwrap_or(f64::from(x));
    let gen = TaskGen::new(task, 0);
    let probe = gen.trial(&mut ChaCha8Rng::seed_from_u64(0));
    let p = &f.net;
    let k = o.k.unwrap_or(d(f.k_diffusion));
    let net = EpropNetwork {
        name: format!("{}_{}", task_file(task), condition_file(condition)),
        seed: 1,
        inputs: gen.inputs() as u32,
        outputs: gen.outputs() as u32,
        classification: gen.is_classification(),
        trial_steps: probe.steps as u32,
        window: (probe.window.start as u32, probe.window.end as u32),
        lif: p.n_lif as u32,
        alif: p.n_alif as u32,
        side: p.grid_side as u32,
        tau_m_ms: d(p.tau_m),
        tau_a_ms: d(p.tau_a),
        tau_out_ms: d(p.tau_out),
        thr: d(p.thr),
        beta: d(p.beta),
        refractory_ms: f64::from(p.refractory),
        sigma: d(p.sigma),
        input_p: d(p.input_density),
        readout_p: d(p.readout_density),
        condition: match condition {
            Condition::Diffusion => Feedback::Diffusion { k },
            Condition::Sparse => Feedback::Sparse,
            Condition::Full => Feedback::Full,
        },
        frac_bits: o.frac_bits.unwrap_or(20),
        weight_bits: o.weight_bits.unwrap_or(16),
        lazy_decay: o.lazy_decay.unwrap_or(true),
        update: o.update.unwrap_or(Update::Adam { step: d(f.lr) }),
        batch: o.batch.unwrap_or(f.batch as u32),
        regulariser: Some((o.c_reg.unwrap_or(d(f.c_reg)), d(f.f_target_hz))),
    };
    eprop(&net)
}

/// `cue_accumulation`, … (file names).
pub fn task_file(task: TaskKind) -> &'static str {
    match task {
        TaskKind::CueAccumulation => "cue_accumulation",
        TaskKind::DelayedMatch => "delayed_match",
        TaskKind::PatternGeneration => "pattern_generation",
    }
}

fn condition_file(c: Condition) -> &'static str {
    match c {
        Condition::Diffusion => "diffusion",
        Condition::Sparse => "sparse",
        Condition::Full => "full",
    }
}

/// What a program's e-prop training is, for reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub condition: Condition,
    /// The diffusion kernel factor (`1 − decay` of the grid; 0 without a kernel).
    pub k: f64,
    pub batch: u32,
    /// Weight width of the e-prop projections (the widest; `None`: the chip's).
    pub weight_bits: Option<u8>,
    pub frac_bits: u8,
    pub lazy_decay: bool,
    /// Regulariser strength and target rate (Hz).
    pub regulariser: Option<(f64, f64)>,
    /// `Adam` or `Sgd`, and its rates: input, recurrent (the first projection of each
    /// kind, in weight units) and readout.
    pub update: String,
    pub rates: [f64; 3],
}

/// The settings of `program`, or why it is not an e-prop program.
pub fn settings(program: &Program) -> Result<Settings, Error> {
    let bad = |m: &str| {
        Error::new(ErrorKind::Settings {
            message: format!("program `{}`: {m}", program.name),
        })
    };
    let s = program
        .eprop
        .as_ref()
        .ok_or_else(|| bad("it has no `eprop` section, so it does not train with e-prop"))?;
    let kernel = program
        .grid
        .map_or(0.0, |r| r.kernel.edge + r.kernel.corner);
    let condition = match s.feedback.weights {
        FeedbackWeights::Dense { .. } => Condition::Full,
        FeedbackWeights::Readout if kernel > 0.0 => Condition::Diffusion,
        FeedbackWeights::Readout => Condition::Sparse,
    };
    let k = if kernel > 0.0 {
        program.grid.map_or(0.0, |r| 1.0 - r.decay)
    } else {
        0.0
    };
    let inputs: Vec<&str> = program.inputs.iter().map(|i| i.name.as_str()).collect();
    let (name, out) = match s.update {
        UpdateSpec::Sgd => ("lr", s.readout.lr),
        UpdateSpec::Adam { .. } => ("step", s.readout.step),
    };
    let rate = |input: bool| {
        program
            .projections
            .iter()
            .filter(|p| p.learning.as_ref().is_some_and(|l| l.rule.trim() == RULE))
            .find(|p| inputs.contains(&p.from.as_str()) == input)
            .and_then(|p| p.learning.as_ref()?.params.get(name).copied())
            .unwrap_or(f64::NAN)
    };
    Ok(Settings {
        condition,
        k,
        batch: s.batch,
        weight_bits: program
            .projections
            .iter()
            .filter(|p| p.learning.as_ref().is_some_and(|l| l.rule.trim() == RULE))
            .filter_map(|p| p.weight_bits)
            .max(),
        frac_bits: s.frac_bits,
        lazy_decay: s.lazy_decay,
        regulariser: s.regulariser.map(|r| (r.strength, r.target_hz)),
        update: match s.update {
            UpdateSpec::Sgd => "Sgd".into(),
            UpdateSpec::Adam { .. } => "Adam".into(),
        },
        rates: [rate(true), rate(false), out.unwrap_or(f64::NAN)],
    })
}

/// Whether the trials of `gen` fit `image`'s e-prop engine (inputs, readouts, trial
/// length, learning window, error units); the error names both sides.
pub fn check_task(task: TaskKind, gen: &TaskGen, image: &ChipImage) -> Result<(), Error> {
    let mismatch = |message: String| {
        Error::new(ErrorKind::Task {
            task: super::report::task_name(task).into(),
            message: format!("program `{}`: {message}", image.program),
        })
    };
    let e = image
        .eprop
        .as_ref()
        .ok_or_else(|| mismatch("the image has no e-prop engine".into()))?;
    let probe = gen.trial(&mut ChaCha8Rng::seed_from_u64(0));
    let inputs = image.inputs.first().map_or(0, |p| p.size as usize);
    let classification = e.error == ErrorUnits::Softmax;
    let checks = [
        (
            inputs == gen.inputs(),
            format!(
                "the task sends {} inputs, the program's input port has {inputs}",
                gen.inputs()
            ),
        ),
        (
            e.readout.units as usize == gen.outputs(),
            format!(
                "the task needs {} readouts, the program has {}",
                gen.outputs(),
                e.readout.units
            ),
        ),
        (
            e.trial_steps as usize == probe.steps,
            format!(
                "the task's trials are {} steps, the program's {}",
                probe.steps, e.trial_steps
            ),
        ),
        (
            (e.window.0 as usize, e.window.1 as usize) == (probe.window.start, probe.window.end),
            format!(
                "the task's learning window is steps {}..{}, the program's {}..{}",
                probe.window.start, probe.window.end, e.window.0, e.window.1
            ),
        ),
        (
            classification == gen.is_classification(),
            format!(
                "the task is a {}, the program's error units compute {:?}",
                if gen.is_classification() {
                    "classification"
                } else {
                    "regression"
                },
                e.error
            ),
        ),
    ];
    let problems: Vec<String> = checks.into_iter().filter(|c| !c.0).map(|c| c.1).collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(mismatch(problems.join("; ")))
    }
}

/// The float reference's network of a compiled program: its neurons (in population
/// order: those without adaptation first), cells, synapses and initial weights read
/// back from the image in the float model's units (a weight `w` weight units is
/// `w·thr/((1 − α)·vth)` with `thr` = [`FLOAT_THR`]), the readout and feedback in
/// theirs. `None` when the image is not the template's shape (one core, an input port).
pub fn float_net(image: &ChipImage, program: &Program) -> Option<(NetParams, Net)> {
    let e = image.eprop.as_ref()?;
    let core = image.cores.iter().find(|c| c.id == e.core)?;
    let port = image.inputs.first()?;
    let ni = port.size as usize;
    let n = core.compartments.len();
    let alif = |c: usize| match &core.profiles[core.compartments[c] as usize] {
        amine_chip::neuron::NeuronParams::Alif(p) => Some(*p),
        _ => None,
    };
    let params: Vec<_> = (0..n).map(alif).collect::<Option<Vec<_>>>()?;
    let n_lif = params.iter().take_while(|p| p.a_inc == 0).count();
    let p0 = params.last().copied()?;
    let side = program
        .grid
        .and_then(|g| g.size)
        .map_or(1, |s| s.0 as usize);
    let thr_v = f64::from(p0.lif.threshold());
    let alpha = amine_chip::neuron::kept(p0.lif.dv);
    let rho = amine_chip::neuron::kept(p0.da);
    let scale = (1.0 - alpha) * thr_v / 64.0 / FLOAT_THR;
    let slot = image.learning.iter().find_map(|l| l.eprop)?;
    let tau = |d: f64| -1.0 / d.ln();
    let np = NetParams {
        n_lif,
        n_alif: n - n_lif,
        inputs: ni,
        outputs: e.readout.units as usize,
        grid_side: side,
        tau_m: tau(alpha) as f32,
        tau_out: tau(slot.kappa) as f32,
        tau_a: tau(rho) as f32,
        thr: FLOAT_THR as f32,
        beta: (f64::from(p0.a_inc) / ((1.0 - rho) * thr_v) * FLOAT_THR) as f32,
        gamma: 0.3,
        refractory: u32::from(p0.lif.refractory),
        sigma: 0.012,
        input_density: 0.1,
        readout_density: 0.1,
    };
    // Synapses onto each compartment: from the port's rows and the core's rows.
    let mem = &core.synapses;
    let mut source_of_row = vec![u32::MAX; mem.rows().len()];
    for i in 0..ni {
        for t in port.fanout_of(i) {
            source_of_row[t.axon as usize] = i as u32;
        }
    }
    for c in 0..n {
        for t in core.fanout_of(c) {
            source_of_row[t.axon as usize] = (ni + c) as u32;
        }
    }
    let mut rows: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n];
    for (r, row) in mem.rows().iter().enumerate() {
        for s in mem.row_synapses(r as u32) {
            let w = f64::from(s.weight) * 2f64.powi(i32::from(row.exponent)) / scale;
            rows[s.target as usize].push((source_of_row[r], w as f32));
        }
    }
    let (mut row_start, mut src, mut w) = (vec![0], Vec::new(), Vec::new());
    for list in &mut rows {
        list.sort_by_key(|x| x.0);
        for &(s, x) in list.iter() {
            src.push(s);
            w.push(x);
        }
        row_start.push(src.len());
    }
    let o = np.outputs;
    let mut w_out = vec![0.0f32; o * n];
    let mut mask = vec![false; o * n];
    let unit = 2f64.powi(i32::from(e.readout.exponent) - 16);
    for s in &e.readout.synapses {
        let q = s.unit as usize * n + s.compartment as usize;
        w_out[q] = (f64::from(s.weight) * unit) as f32;
        mask[q] = true;
    }
    let mut b = vec![0.0f32; o * n];
    for inj in &e.feedback.injectors {
        for &(k, x) in &inj.weights {
            b[k as usize * n + inj.compartment as usize] = (f64::from(x) / 65536.0) as f32;
        }
    }
    let mut cell = vec![0usize; n];
    for c in image.modulator.cells.iter().filter(|c| c.core == core.id) {
        if let Some(x) = cell.get_mut(c.compartment as usize) {
            *x = c.cell.1 as usize * side + c.cell.0 as usize;
        }
    }
    let full = matches!(
        program.eprop.as_ref()?.feedback.weights,
        FeedbackWeights::Dense { .. }
    );
    let (b_sparse, b_full) = if full {
        (w_out.clone(), b)
    } else {
        (b.clone(), b)
    };
    let net = Net::from_parts(&np, cell, row_start, src, w, w_out, mask, b_sparse, b_full).ok()?;
    Some((np, net))
}
