//! `c1z`: reads, compares and exports c1z files.

fn main() {
    eprintln!("c1z: not implemented yet");
    std::process::exit(2);
}
