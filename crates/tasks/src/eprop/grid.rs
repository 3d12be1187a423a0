//! The neuromodulator grid that carries learning signals in the `sparse` and
//! `diffusion` conditions: a G×G field on a torus. Each step it is first smoothed by a
//! 3×3 kernel whose nine entries are all k/9 (so its total mass is multiplied by k and
//! spread to the Moore neighbourhood), then the step's injections are added, then
//! every neuron reads its own cell. k = 0 keeps no memory: a cell holds exactly what
//! was injected into it this step.

/// A G×G field with toroidal boundary.
#[derive(Debug, Clone, PartialEq)]
pub struct ModGrid {
    side: usize,
    /// Kernel entry, k / 9.
    w: f32,
    field: Vec<f32>,
    scratch: Vec<f32>,
}

impl ModGrid {
    /// A zero field of `side × side` cells with decay-and-spread factor `k`.
    pub fn new(side: usize, k: f32) -> ModGrid {
        ModGrid {
            side,
            w: k / 9.0,
            field: vec![0.0; side * side],
            scratch: vec![0.0; side * side],
        }
    }

    pub fn side(&self) -> usize {
        self.side
    }

    /// Cell `r * side + c` holds row `r`, column `c`.
    pub fn field(&self) -> &[f32] {
        &self.field
    }

    pub fn clear(&mut self) {
        self.field.iter_mut().for_each(|v| *v = 0.0);
    }

    /// Applies the kernel: every cell becomes k/9 × the sum of its 3×3 toroidal
    /// neighbourhood. With k = 0 the field is cleared (no arithmetic on it, so no
    /// `0 × ∞` surprises).
    pub fn diffuse(&mut self) {
        let n = self.side;
        if self.w == 0.0 || n == 0 {
            self.clear();
            return;
        }
        // Separable: sum over columns into scratch, then over rows back into field.
        for r in 0..n {
            let row = &self.field[r * n..(r + 1) * n];
            for c in 0..n {
                let l = row[(c + n - 1) % n];
                let rt = row[(c + 1) % n];
                self.scratch[r * n + c] = l + row[c] + rt;
            }
        }
        for r in 0..n {
            let up = (r + n - 1) % n;
            let dn = (r + 1) % n;
            for c in 0..n {
                self.field[r * n + c] = self.w
                    * (self.scratch[up * n + c]
                        + self.scratch[r * n + c]
                        + self.scratch[dn * n + c]);
            }
        }
    }

    /// Adds `value` to `cell`.
    pub fn inject(&mut self, cell: usize, value: f32) {
        self.field[cell] += value;
    }

    /// The value at `cell`.
    pub fn read(&self, cell: usize) -> f32 {
        self.field[cell]
    }
}
