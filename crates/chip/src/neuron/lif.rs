//! Placeholder (being written).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LifParams {
    pub du: u16,
    pub dv: u16,
    pub vth: u32,
    pub bias_mant: i16,
    pub bias_exp: i8,
    pub refractory: u8,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LifState {
    pub u: i32,
    pub v: i32,
    pub refractory_left: u8,
}
impl LifState {
    pub fn step(&mut self, _p: &LifParams, _a_in: i32) -> bool {
        true
    }
}
