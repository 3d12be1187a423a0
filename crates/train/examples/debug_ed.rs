use amine_compiler::templates::{error_diffusion, EdNetwork};
use amine_train::ed::{EdLayout, EdRunner};
fn main() {
    let chip = amine_chip::presets::preset("loihi").unwrap();
    let net = EdNetwork::default();
    let program = error_diffusion(&net).to_ron();
    let image = amine_compiler::compile_str(&program, "ed.ron", std::path::Path::new("."), &chip)
        .unwrap()
        .image;
    let split = amine_tasks::parse_task("digits").unwrap().load().unwrap();
    let mut sim = amine_sim::Simulator::new(&chip, &image, Default::default()).unwrap();
    let layout = EdLayout::of(&sim, &image).unwrap();
    let pops: Vec<String> = sim.population_names().to_vec();
    let idx = |n: &str| pops.iter().position(|p| p == n).unwrap();
    let mut r = EdRunner::new(&mut sim, layout);
    for i in 0..400 {
        let label = split.train.labels[i] as usize;
        let p = r.train_sample(&split.train.inputs[i], label).unwrap();
        if i % 50 == 0 || i < 3 {
            let outs: Vec<(i32, u16)> = (0..10)
                .map(|c| r.sim.graded_values(&r.state, idx(&format!("out{c}")))[0])
                .collect();
            let dps: Vec<u16> = (0..10)
                .map(|c| r.sim.graded_values(&r.state, idx(&format!("dp{c}")))[0].1)
                .collect();
            let dms: Vec<u16> = (0..10)
                .map(|c| r.sim.graded_values(&r.state, idx(&format!("dm{c}")))[0].1)
                .collect();
            let h: Vec<u16> = r
                .sim
                .graded_values(&r.state, idx("h0e"))
                .iter()
                .map(|x| x.1)
                .take(8)
                .collect();
            let hi: Vec<u16> = r
                .sim
                .graded_values(&r.state, idx("h0i"))
                .iter()
                .map(|x| x.1)
                .take(8)
                .collect();
            println!("sample {i} label {label} pred {p}\n out {:?}\n dp {dps:?}\n dm {dms:?}\n h0e {h:?}\n h0i {hi:?}", outs);
        }
    }
    let rows: Vec<_> = r
        .sim
        .plastic_rows(&r.state)
        .take(3)
        .map(|(s, m, e)| (s, m[..8].to_vec(), e))
        .collect();
    println!("{rows:?}");
}
