//! Command-line arguments (clap derive). Every subcommand carries examples in its help.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "amine",
    version,
    about = "Model a neuromorphic chip, compile spiking networks onto it, and report what runs cost",
    after_help = "Examples:\n  amine chip show loihi\n  amine chip check chip-configs/tiny.ron"
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
}
